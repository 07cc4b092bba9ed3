//! Error types.
//!
//! None of these errors ever carries text copied from the DSN that failed to
//! parse: problems are described by naming the component, a parameter or
//! scheme from this crate's own tables, or a byte offset, so an error message
//! is always safe to log.

use std::fmt;
use std::path::PathBuf;

use crate::SslMode;

/// The part of a DSN that a [`DsnError`] refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Component {
    /// The user name (URL userinfo or the `user` parameter).
    User,
    /// The password (URL userinfo or the `password` parameter).
    Password,
    /// A host name, IP address or Unix-socket directory.
    Host,
    /// A port number.
    Port,
    /// The database name (URL path or the `dbname` parameter).
    Dbname,
    /// The name of a URL query parameter.
    ParamName,
    /// The value of the named parameter.
    Param(&'static str),
}

impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Component::User => f.write_str("the user name"),
            Component::Password => f.write_str("the password"),
            Component::Host => f.write_str("the host"),
            Component::Port => f.write_str("the port"),
            Component::Dbname => f.write_str("the database name"),
            Component::ParamName => f.write_str("a query parameter name"),
            Component::Param(key) => write!(f, "the value of `{key}`"),
        }
    }
}

/// Where an unknown parameter name was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyLocation {
    /// In a libpq `key=value` string, at this byte offset.
    KeyValue {
        /// Byte offset of the start of the key in the input.
        offset: usize,
    },
    /// In a URL query string, the n-th parameter (1-based).
    Query {
        /// 1-based position of the parameter in the query string.
        index: usize,
    },
}

impl fmt::Display for KeyLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyLocation::KeyValue { offset } => {
                write!(f, "at byte {offset} of the key=value DSN")
            }
            KeyLocation::Query { index } => write!(f, "in URL query parameter #{index}"),
        }
    }
}

/// An error and its sources, joined with `: `.
///
/// tokio-postgres keeps the useful detail (the server's message, the TLS or
/// I/O failure) in the source chain rather than in its own message.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

fn quoted_name(name: &Option<String>) -> String {
    match name {
        Some(name) => format!(" `{name}`"),
        None => String::new(),
    }
}

fn did_you_mean(suggestion: &Option<&'static str>) -> String {
    match suggestion {
        Some(s) => format!(" (did you mean `{s}`?)"),
        None => String::new(),
    }
}

/// A DSN could not be parsed.
///
/// The message names the offending component, parameter or byte offset but
/// never repeats the input (a scheme or driver name is shown only when it is
/// a well-known one), so it can be logged as is and never reveals a password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DsnError {
    /// The DSN is empty or only whitespace.
    #[error("DSN is empty")]
    Empty,
    /// The input is neither a URL nor a libpq `key=value` string.
    #[error("unrecognised DSN format: expected a postgresql:// URL or libpq key=value pairs")]
    UnrecognizedFormat,
    /// The URL scheme is not a PostgreSQL one.
    #[error(
        "unknown URL scheme{}: expected postgresql://, postgres:// or postgresql+<driver>://",
        quoted_name(.scheme)
    )]
    UnknownScheme {
        /// The scheme, when it is a well-known one (`mysql`, `jdbc`, ...).
        scheme: Option<String>,
    },
    /// The SQLAlchemy driver in `postgresql+<driver>://` is not supported.
    #[error(
        "unknown SQLAlchemy driver{} in the URL scheme: expected psycopg, psycopg2 or asyncpg",
        quoted_name(.driver)
    )]
    UnknownDriver {
        /// The driver name, when it is a well-known one (`pg8000`, ...).
        driver: Option<String>,
    },
    /// A `%` escape is not followed by two hexadecimal digits.
    #[error("invalid percent-encoding in {component}")]
    InvalidPercentEncoding {
        /// Where the bad escape is.
        component: Component,
    },
    /// A component is not valid UTF-8 once percent-decoded.
    #[error("{component} is not valid UTF-8 after percent-decoding")]
    InvalidUtf8 {
        /// Which component.
        component: Component,
    },
    /// The URL userinfo seems to contain an unescaped `/`, `?` or `#`.
    #[error(
        "malformed URL authority: if the user name or password contains `/`, `?`, `#`, `@` or `:`, \
         percent-encode it"
    )]
    UnencodedUserinfo,
    /// No host was given, or a host list has an empty entry.
    #[error("empty host: a host name, IP address or Unix-socket directory is required")]
    EmptyHost,
    /// A host is malformed.
    #[error("invalid host: {reason}")]
    InvalidHost {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A port is not an integer between 1 and 65535.
    #[error("invalid port: expected an integer between 1 and 65535")]
    InvalidPort,
    /// The number of ports matches neither one nor the number of hosts.
    #[error("{ports} ports given for {hosts} hosts: give a single port or one per host")]
    PortCountMismatch {
        /// Number of hosts.
        hosts: usize,
        /// Number of ports.
        ports: usize,
    },
    /// The number of `hostaddr` entries differs from the number of hosts.
    #[error("{hostaddrs} hostaddr entries given for {hosts} hosts: give one per host")]
    HostaddrCountMismatch {
        /// Number of hosts.
        hosts: usize,
        /// Number of `hostaddr` entries.
        hostaddrs: usize,
    },
    /// No user name was given.
    #[error("no user name given")]
    MissingUser,
    /// The `sslmode` value is not one of the accepted ones.
    #[error(
        "unknown sslmode value: expected one of disable, prefer, require, verify-ca, verify-full"
    )]
    UnknownSslMode,
    /// A parameter has a malformed value.
    #[error("invalid value for `{key}`: expected {expected}")]
    InvalidValue {
        /// The parameter (canonical libpq name).
        key: &'static str,
        /// What would have been accepted.
        expected: &'static str,
    },
    /// A parameter name is not known.
    #[error("unknown parameter {location}{}", did_you_mean(.suggestion))]
    UnknownKey {
        /// Where it was found.
        location: KeyLocation,
        /// A known parameter with a similar name.
        suggestion: Option<&'static str>,
    },
    /// A libpq parameter that this crate does not implement.
    #[error("parameter `{key}` is not supported")]
    UnsupportedKey {
        /// The parameter (canonical libpq name).
        key: &'static str,
    },
    /// A single-quoted value in a `key=value` string has no closing quote.
    #[error("unterminated quoted value in the key=value DSN (quote opened at byte {offset})")]
    UnterminatedQuote {
        /// Byte offset of the opening quote.
        offset: usize,
    },
    /// A key in a `key=value` string is not followed by `=`.
    #[error("missing `=` after the parameter name at byte {offset} of the key=value DSN")]
    MissingEquals {
        /// Byte offset of the start of the key.
        offset: usize,
    },
    /// A URL query parameter has no `=`.
    #[error("malformed URL query: parameter #{index} has no `=`")]
    MalformedQuery {
        /// 1-based position of the parameter in the query string.
        index: usize,
    },
    /// `sslrootcert=system` was combined with an sslmode weaker than `verify-full`.
    #[error("sslrootcert=system requires sslmode=verify-full")]
    WeakSslModeWithSystemRoots,
    /// TLS was required for a host list that mixes Unix sockets and TCP hosts.
    #[error(
        "sslmode={mode} cannot be used with a host list that mixes Unix-socket and TCP hosts \
         (TLS is never used over Unix sockets)"
    )]
    TlsWithMixedHosts {
        /// The configured mode.
        mode: SslMode,
    },
}

/// A connection or pool could not be set up.
///
/// The message includes the redacted DSN and the driver's error text; it
/// never includes the password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The `sslrootcert` file could not be read.
    #[error("cannot read sslrootcert file {}: {source}", path.display())]
    RootCertRead {
        /// The configured path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The `sslrootcert` file is not valid PEM or holds an unusable certificate.
    #[error("sslrootcert file {} is invalid: {reason}", path.display())]
    RootCertInvalid {
        /// The configured path.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The `sslrootcert` file holds no certificate.
    #[error("sslrootcert file {} contains no PEM certificate", path.display())]
    RootCertEmpty {
        /// The configured path.
        path: PathBuf,
    },
    /// No system or bundled root certificate could be loaded.
    #[error("no trusted root certificates available to verify the server certificate")]
    NoRootCerts,
    /// The TLS client configuration could not be built.
    #[error("cannot set up TLS: {0}")]
    Tls(#[source] rustls::Error),
    /// Connecting or authenticating failed.
    ///
    /// The driver's error and its causes (such as the server's message or
    /// the TLS failure) are part of the message; it is available through
    /// [`ConnectError::postgres_error`] rather than `source()` so that error
    /// reporters that print the chain do not print it twice.
    #[error("cannot connect to {target}: {}", error_chain(.error))]
    Postgres {
        /// The redacted DSN.
        target: String,
        /// The driver's error.
        error: tokio_postgres::Error,
    },
    /// The connection pool could not be built.
    #[error("cannot build connection pool for {target}: {error}")]
    Pool {
        /// The redacted DSN.
        target: String,
        /// The pool builder's error.
        error: deadpool_postgres::BuildError,
    },
}

impl ConnectError {
    /// The underlying driver error, if this is a connection failure.
    pub fn postgres_error(&self) -> Option<&tokio_postgres::Error> {
        match self {
            ConnectError::Postgres { error, .. } => Some(error),
            _ => None,
        }
    }

    /// The server's error response (SQLSTATE, message), if the server sent one.
    pub fn as_db_error(&self) -> Option<&tokio_postgres::error::DbError> {
        self.postgres_error().and_then(|e| e.as_db_error())
    }
}
