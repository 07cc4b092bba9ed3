//! Database configuration for the Torghut store: DSN parsing, password
//! redaction, TLS (`sslmode`), connections and pools, DSN lookup from the
//! command line and environment, and the deployment environment (`APP_ENV`).
//!
//! # Accepted DSN forms
//!
//! [`DbConfig::parse`] accepts, after trimming surrounding whitespace:
//!
//! 1. **PostgreSQL URLs**, `postgresql://` or `postgres://` (scheme
//!    case-insensitive), with libpq's URI syntax:
//!    `postgresql://[user[:password]@][host][:port][,host[:port]...][/dbname][?key=value&...]`
//!    * every component is percent-decoded (strictly: a `%` must start a
//!      two-hex-digit escape, and the result must be UTF-8); `+` is a
//!      literal plus;
//!    * IPv6 hosts in brackets: `postgresql://u@[::1]:5432/db`;
//!    * Unix sockets as a percent-encoded directory,
//!      `postgresql://u@%2Frun%2Fpostgresql/db`, or as a query parameter,
//!      `postgresql://u@/db?host=/run/postgresql`;
//!    * several hosts: `postgresql://u@h1:5432,h2:5433/db`;
//!    * query parameters are the libpq keywords listed below and override
//!      the URL parts (`?host=`, `?port=`, `?user=`, `?password=`,
//!      `?dbname=`); libpq's `ssl=true` means `sslmode=require`;
//!    * the userinfo ends at the last `@` before the first `/` or `?`, so an
//!      unescaped `@` in a password is tolerated, but `/`, `?` or `#` in a
//!      password must be percent-encoded.
//! 2. **SQLAlchemy URLs** as used by the earlier Python service:
//!    `postgresql+psycopg://`, `postgresql+psycopg2://` and
//!    `postgresql+asyncpg://` (also with `postgres+`). The driver is dropped
//!    and the rest is read as above. For asyncpg, `ssl=<mode>` is read as
//!    `sslmode=<mode>` (`ssl=true`/`1` mean `require`, `ssl=false`/`0`
//!    mean `disable`) and `database=` as `dbname=`. Other drivers are
//!    rejected ([`DsnError::UnknownDriver`]).
//! 3. **CloudNativePG app secrets**: the secret's `uri` value is a plain
//!    `postgresql://` URL, e.g.
//!    `postgresql://app:p%40ss@torghut-db-rw.torghut:5432/app`, with or
//!    without the port and with optional `?sslmode=...`; it is form 1.
//!    (The secret's `jdbc-uri` is not accepted.)
//! 4. **libpq `key=value` strings**:
//!    `host=db port=5432 dbname=app user=app password='it\'s secret' sslmode=require`.
//!    Pairs are separated by whitespace, spaces around `=` are allowed, a
//!    value may be single-quoted (needed for empty values and values with
//!    spaces), and a backslash escapes the next character inside and
//!    outside quotes.
//!
//! Supported keywords (both forms): `host` (comma-separated; an entry
//! starting with `/` is a Unix-socket directory), `hostaddr`, `port`
//! (comma-separated), `dbname`, `user`, `password`, `sslmode`, `sslrootcert`
//! (a PEM file, or `system`), `sslnegotiation`, `connect_timeout` (seconds;
//! `<= 0` means none, 1 means 2, as in libpq), `application_name`,
//! `fallback_application_name`, `options`, `keepalives`, `keepalives_idle`,
//! `keepalives_interval`, `keepalives_count`, `tcp_user_timeout` (ms),
//! `target_session_attrs` (`any`, `read-write`, `read-only`),
//! `channel_binding`, `load_balance_hosts` and `gssencmode` (`disable` or
//! `prefer` only: GSSAPI encryption is never used). Keyword names are matched
//! case-insensitively. Other libpq keywords (`sslcert`, `sslkey`, `passfile`,
//! `service`, ...) are rejected as unsupported, unknown ones as unknown.
//!
//! A host and a user are required: `PG*` environment variables and the
//! current OS user are never consulted. The database name defaults to the
//! user name. The sslmode defaults to `prefer` (`verify-full` with
//! `sslrootcert=system`, which allows no weaker mode).
//!
//! # TLS
//!
//! `sslmode` follows libpq; see [`SslMode`] and [`CertVerification`]:
//! `disable` never uses TLS; `prefer` uses it when the server offers it,
//! without checking the certificate; `require` insists on TLS and checks the
//! certificate chain only when `sslrootcert` is given; `verify-ca` checks
//! the chain against `sslrootcert` (or the system roots, falling back to the
//! bundled Mozilla roots); `verify-full` also checks the host name. `allow`
//! is not supported. Unix-socket connections never use TLS.
//!
//! # Secrets
//!
//! The password is kept as a [`secrecy::SecretString`] (and inside the
//! `tokio_postgres::Config`). `Display` and `Debug` of [`DbConfig`] show
//! [`DbConfig::redacted`], e.g.
//! `postgresql://torghut_app:***@db:5432/torghut`. [`redact_dsn`] masks
//! passwords in arbitrary text. Error messages ([`DsnError`],
//! [`ConnectError`], [`ResolvedDsnError`]) never contain the password.
//!
//! # Example
//!
//! ```
//! use torghut_config::{DbConfig, SslMode};
//!
//! let cfg = DbConfig::parse(
//!     "postgresql+asyncpg://torghut_app:p%40ss@torghut-db-rw.torghut/torghut?ssl=require",
//! )?;
//! assert_eq!(cfg.user(), "torghut_app");
//! assert_eq!(cfg.sslmode(), SslMode::Require);
//! assert_eq!(
//!     cfg.to_string(),
//!     "postgresql://torghut_app:***@torghut-db-rw.torghut:5432/torghut?sslmode=require"
//! );
//! # Ok::<(), torghut_config::DsnError>(())
//! ```

// No `unwrap` or `expect` outside tests: a panic must not be reachable from input or stored data.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![warn(missing_docs)]

mod app_env;
mod config;
mod dsn;
mod error;
mod redact;
mod resolve;
mod tls;

#[cfg(test)]
mod tests;

pub use app_env::{AppEnv, AppEnvError, APP_ENV_VAR};
pub use config::{DbConfig, PoolOptions};
pub use error::{Component, ConnectError, DsnError, KeyLocation};
pub use redact::redact_dsn;
pub use resolve::{
    resolve_dsn, resolve_dsn_with, DsnSource, ResolvedDsn, ResolvedDsnError, DSN_ENV_VARS,
};
pub use tls::{CertVerification, SslMode};

/// Re-exported so callers can name the pool and TLS types without adding
/// the dependencies themselves.
pub use deadpool_postgres;
pub use secrecy;
pub use tokio_postgres;
pub use tokio_postgres_rustls;
