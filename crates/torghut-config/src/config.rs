//! [`DbConfig`]: a parsed DSN, its redacted form, connections and pools.

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use secrecy::{ExposeSecret, SecretString};
use tokio_postgres::config::{
    ChannelBinding, LoadBalanceHosts, SslNegotiation, TargetSessionAttrs,
};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::dsn::{self, HostSpec, RootCert, Spec};
use crate::error::{ConnectError, DsnError};
use crate::tls::{self, CertVerification, TlsPlan};
use crate::SslMode;

/// Characters left as is in the redacted URL: RFC 3986 unreserved ones.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Query values additionally keep `/`, `:` and `,` for readability (paths,
/// host lists); `&`, `=`, `@`, `#`, `+`, `%` and spaces are escaped.
const QUERY_VALUE: &AsciiSet = &COMPONENT.remove(b'/').remove(b':').remove(b',');

/// A parsed, validated database connection configuration.
///
/// Built with [`DbConfig::parse`] (or `str::parse`) from any DSN form listed
/// in the [crate documentation](crate). It holds a `tokio_postgres::Config`
/// plus the TLS settings that tokio-postgres does not model (`verify-ca`,
/// `verify-full`, `sslrootcert`), and the password as a [`SecretString`].
///
/// `Display` and `Debug` show the [redacted](DbConfig::redacted) form only.
#[derive(Clone)]
pub struct DbConfig {
    spec: Spec,
    pg: tokio_postgres::Config,
}

/// Settings for [`DbConfig::pool`].
///
/// ```
/// use std::time::Duration;
/// use torghut_config::PoolOptions;
///
/// let opts = PoolOptions { max_size: 4, ..PoolOptions::default() };
/// assert_eq!(opts.wait_timeout, Some(Duration::from_secs(30)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolOptions {
    /// Maximum number of connections (default 16).
    pub max_size: usize,
    /// How long `Pool::get` waits for a free connection (default 30 s;
    /// `None` waits forever).
    pub wait_timeout: Option<Duration>,
    /// How long opening a new connection may take (default 30 s; `None`
    /// relies on `connect_timeout` alone).
    pub create_timeout: Option<Duration>,
    /// How long checking a returned connection may take (default 5 s).
    pub recycle_timeout: Option<Duration>,
    /// Run a test query when recycling a connection instead of only checking
    /// that it is open (default `false`).
    pub verify_on_recycle: bool,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions {
            max_size: 16,
            wait_timeout: Some(Duration::from_secs(30)),
            create_timeout: Some(Duration::from_secs(30)),
            recycle_timeout: Some(Duration::from_secs(5)),
            verify_on_recycle: false,
        }
    }
}

impl DbConfig {
    /// Parses a DSN in any accepted form (see the [crate documentation](crate)).
    ///
    /// Never panics; errors never contain the password.
    pub fn parse(dsn: &str) -> Result<DbConfig, DsnError> {
        dsn::parse_spec(dsn).map(DbConfig::from_spec)
    }

    fn from_spec(spec: Spec) -> DbConfig {
        let pg = build_pg_config(&spec);
        DbConfig { spec, pg }
    }

    /// The tokio-postgres configuration (hosts, credentials, timeouts and
    /// the wire-level TLS mode). Certificate checking is configured by
    /// [`DbConfig::tls_connector`], not by this value.
    pub fn pg_config(&self) -> &tokio_postgres::Config {
        &self.pg
    }

    /// The configured sslmode, or its default: `prefer`, or `verify-full`
    /// with `sslrootcert=system`.
    ///
    /// TLS is never used over Unix sockets whatever this says; see
    /// [`DbConfig::cert_verification`].
    pub fn sslmode(&self) -> SslMode {
        self.spec.effective_sslmode()
    }

    /// The `sslrootcert` file, if one was given (`None` also for
    /// `sslrootcert=system`).
    pub fn sslrootcert(&self) -> Option<&Path> {
        match &self.spec.sslrootcert {
            Some(RootCert::File(path)) => Some(path),
            _ => None,
        }
    }

    /// How the server certificate will be checked.
    pub fn cert_verification(&self) -> CertVerification {
        self.tls_plan().verification
    }

    /// The database name (defaults to the user name, as the server does).
    pub fn dbname(&self) -> &str {
        self.spec.dbname.as_deref().unwrap_or_default()
    }

    /// The user name.
    pub fn user(&self) -> &str {
        self.spec.user.as_deref().unwrap_or_default()
    }

    /// The password, if any.
    pub fn password(&self) -> Option<&SecretString> {
        self.spec.password.as_ref()
    }

    /// The application name sent to the server, if any.
    pub fn application_name(&self) -> Option<&str> {
        self.spec.application_name.as_deref()
    }

    /// Where the client connects, for messages: `host:port` entries
    /// separated by commas, IPv6 addresses in brackets, and Unix sockets as
    /// the socket file path, e.g. `/run/postgresql/.s.PGSQL.5432`.
    pub fn host_description(&self) -> String {
        self.spec
            .hosts
            .iter()
            .enumerate()
            .map(|(i, host)| {
                let port = self.spec.port_for(i);
                match host {
                    HostSpec::Tcp(name) if name.contains(':') => format!("[{name}]:{port}"),
                    HostSpec::Tcp(name) => format!("{name}:{port}"),
                    HostSpec::Unix(dir) => {
                        dir.join(format!(".s.PGSQL.{port}")).display().to_string()
                    }
                }
            })
            .collect::<Vec<_>>()
            .join(",")
    }

    /// A copy that connects to another database.
    pub fn with_dbname(&self, dbname: &str) -> DbConfig {
        let mut spec = self.spec.clone();
        spec.dbname = Some(dbname.to_owned());
        DbConfig::from_spec(spec)
    }

    /// A copy that connects as another user; `None` removes the password.
    /// The database name stays the same.
    pub fn with_user(&self, user: &str, password: Option<SecretString>) -> DbConfig {
        let mut spec = self.spec.clone();
        spec.user = Some(user.to_owned());
        spec.password = password.filter(|p| !p.expose_secret().is_empty());
        DbConfig::from_spec(spec)
    }

    /// A copy with another application name.
    pub fn with_application_name(&self, name: &str) -> DbConfig {
        let mut spec = self.spec.clone();
        spec.application_name = (!name.is_empty()).then(|| name.to_owned());
        DbConfig::from_spec(spec)
    }

    /// The DSN as a `postgresql://` URL with the password replaced by `***`,
    /// e.g. `postgresql://torghut_app:***@db:5432/torghut?sslmode=require`.
    ///
    /// It keeps the user, hosts, ports, database and every explicitly given
    /// parameter except the password (the sslmode only when it was given).
    /// Unix-socket hosts are shown as `?host=/dir&port=N`. Parsing the result
    /// gives the same configuration without (or with a `***`) password.
    pub fn redacted(&self) -> String {
        let spec = &self.spec;
        let mut out = String::from("postgresql://");
        out.extend(utf8_percent_encode(self.user(), COMPONENT));
        if spec.password.is_some() {
            out.push_str(":***");
        }
        out.push('@');
        let hosts_in_query = spec.hosts.iter().any(|h| matches!(h, HostSpec::Unix(_)));
        if !hosts_in_query {
            let hosts: Vec<String> = spec
                .hosts
                .iter()
                .enumerate()
                .map(|(i, host)| {
                    let name = match host {
                        HostSpec::Tcp(name) if name.contains(':') => {
                            format!("[{}]", utf8_percent_encode(name, QUERY_VALUE))
                        }
                        HostSpec::Tcp(name) => utf8_percent_encode(name, COMPONENT).to_string(),
                        HostSpec::Unix(_) => String::new(),
                    };
                    format!("{name}:{}", spec.port_for(i))
                })
                .collect();
            out.push_str(&hosts.join(","));
        }
        out.push('/');
        out.extend(utf8_percent_encode(self.dbname(), COMPONENT));

        let mut params: Vec<(&str, String)> = Vec::new();
        if hosts_in_query {
            let hosts: Vec<String> = spec
                .hosts
                .iter()
                .map(|h| match h {
                    HostSpec::Tcp(name) => name.clone(),
                    HostSpec::Unix(dir) => dir.display().to_string(),
                })
                .collect();
            params.push(("host", hosts.join(",")));
            let ports: Vec<String> = (0..spec.ports.len().max(1))
                .map(|i| spec.port_for(i).to_string())
                .collect();
            params.push(("port", ports.join(",")));
        }
        if !spec.hostaddrs.is_empty() {
            let addrs: Vec<String> = spec.hostaddrs.iter().map(ToString::to_string).collect();
            params.push(("hostaddr", addrs.join(",")));
        }
        if let Some(mode) = spec.sslmode {
            params.push(("sslmode", mode.to_string()));
        }
        match &spec.sslrootcert {
            Some(RootCert::File(path)) => params.push(("sslrootcert", path.display().to_string())),
            Some(RootCert::System) => params.push(("sslrootcert", "system".to_owned())),
            None => {}
        }
        if let Some(negotiation) = spec.sslnegotiation {
            params.push((
                "sslnegotiation",
                match negotiation {
                    SslNegotiation::Direct => "direct",
                    _ => "postgres",
                }
                .to_owned(),
            ));
        }
        if let Some(binding) = spec.channel_binding {
            params.push((
                "channel_binding",
                match binding {
                    ChannelBinding::Disable => "disable",
                    ChannelBinding::Require => "require",
                    _ => "prefer",
                }
                .to_owned(),
            ));
        }
        if let Some(secs) = spec.connect_timeout {
            params.push(("connect_timeout", secs.to_string()));
        }
        if let Some(name) = &spec.application_name {
            params.push(("application_name", name.clone()));
        }
        if let Some(options) = &spec.options {
            params.push(("options", options.clone()));
        }
        if let Some(on) = spec.keepalives {
            params.push(("keepalives", u8::from(on).to_string()));
        }
        if let Some(secs) = spec.keepalives_idle {
            params.push(("keepalives_idle", secs.to_string()));
        }
        if let Some(secs) = spec.keepalives_interval {
            params.push(("keepalives_interval", secs.to_string()));
        }
        if let Some(count) = spec.keepalives_count {
            params.push(("keepalives_count", count.to_string()));
        }
        if let Some(ms) = spec.tcp_user_timeout {
            params.push(("tcp_user_timeout", ms.to_string()));
        }
        if let Some(attrs) = spec.target_session_attrs {
            params.push((
                "target_session_attrs",
                match attrs {
                    TargetSessionAttrs::ReadWrite => "read-write",
                    TargetSessionAttrs::ReadOnly => "read-only",
                    _ => "any",
                }
                .to_owned(),
            ));
        }
        if let Some(balance) = spec.load_balance_hosts {
            params.push((
                "load_balance_hosts",
                match balance {
                    LoadBalanceHosts::Random => "random",
                    _ => "disable",
                }
                .to_owned(),
            ));
        }
        for (i, (key, value)) in params.iter().enumerate() {
            out.push(if i == 0 { '?' } else { '&' });
            out.push_str(key);
            out.push('=');
            out.extend(utf8_percent_encode(value, QUERY_VALUE));
        }
        out
    }

    fn tls_plan(&self) -> TlsPlan {
        tls::plan(
            self.spec.effective_sslmode(),
            self.spec.sslrootcert.as_ref(),
            self.spec.all_unix(),
        )
    }

    /// The TLS connector implementing this configuration's sslmode.
    ///
    /// Reads the `sslrootcert` file (or the system roots) when certificates
    /// are to be checked. Use it with [`DbConfig::pg_config`] to connect in
    /// ways this type does not cover.
    pub fn tls_connector(&self) -> Result<MakeRustlsConnect, ConnectError> {
        tls::connector(&self.tls_plan())
    }

    /// Opens one connection and spawns its connection task on the current
    /// tokio runtime. The task ends when the client is dropped; an error
    /// that ends it early is logged at `warn` level.
    pub async fn connect(&self) -> Result<tokio_postgres::Client, ConnectError> {
        let tls = self.tls_connector()?;
        let (client, connection) =
            self.pg
                .connect(tls)
                .await
                .map_err(|error| ConnectError::Postgres {
                    target: self.redacted(),
                    error,
                })?;
        let target = self.host_description();
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::warn!(%target, %error, "postgres connection ended with an error");
            }
        });
        Ok(client)
    }

    /// Builds a deadpool connection pool (no connection is opened yet).
    ///
    /// Every connection uses this configuration's TLS settings.
    pub fn pool(&self, opts: PoolOptions) -> Result<deadpool_postgres::Pool, ConnectError> {
        use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
        let tls = self.tls_connector()?;
        let manager = Manager::from_config(
            self.pg.clone(),
            tls,
            ManagerConfig {
                recycling_method: if opts.verify_on_recycle {
                    RecyclingMethod::Verified
                } else {
                    RecyclingMethod::Fast
                },
            },
        );
        Pool::builder(manager)
            .max_size(opts.max_size)
            .wait_timeout(opts.wait_timeout)
            .create_timeout(opts.create_timeout)
            .recycle_timeout(opts.recycle_timeout)
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|error| ConnectError::Pool {
                target: self.redacted(),
                error,
            })
    }
}

fn build_pg_config(spec: &Spec) -> tokio_postgres::Config {
    let mut pg = tokio_postgres::Config::new();
    for host in &spec.hosts {
        match host {
            HostSpec::Tcp(name) => pg.host(name),
            HostSpec::Unix(dir) => pg.host_path(dir),
        };
    }
    for port in &spec.ports {
        pg.port(*port);
    }
    for addr in &spec.hostaddrs {
        pg.hostaddr(*addr);
    }
    if let Some(user) = &spec.user {
        pg.user(user);
    }
    if let Some(password) = &spec.password {
        pg.password(password.expose_secret());
    }
    if let Some(dbname) = &spec.dbname {
        pg.dbname(dbname);
    }
    if let Some(name) = &spec.application_name {
        pg.application_name(name);
    }
    if let Some(options) = &spec.options {
        pg.options(options);
    }
    let plan = tls::plan(
        spec.effective_sslmode(),
        spec.sslrootcert.as_ref(),
        spec.all_unix(),
    );
    pg.ssl_mode(plan.wire);
    if let Some(negotiation) = spec.sslnegotiation {
        pg.ssl_negotiation(negotiation);
    }
    if let Some(timeout) = spec.connect_timeout_duration() {
        pg.connect_timeout(timeout);
    }
    if let Some(on) = spec.keepalives {
        pg.keepalives(on);
    }
    if let Some(secs) = spec.keepalives_idle {
        pg.keepalives_idle(Duration::from_secs(secs));
    }
    if let Some(secs) = spec.keepalives_interval {
        pg.keepalives_interval(Duration::from_secs(secs));
    }
    if let Some(count) = spec.keepalives_count {
        pg.keepalives_retries(count);
    }
    if let Some(ms) = spec.tcp_user_timeout {
        pg.tcp_user_timeout(Duration::from_millis(ms));
    }
    if let Some(attrs) = spec.target_session_attrs {
        pg.target_session_attrs(attrs);
    }
    if let Some(binding) = spec.channel_binding {
        pg.channel_binding(binding);
    }
    if let Some(balance) = spec.load_balance_hosts {
        pg.load_balance_hosts(balance);
    }
    pg
}

impl FromStr for DbConfig {
    type Err = DsnError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DbConfig::parse(s)
    }
}

impl fmt::Display for DbConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for DbConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DbConfig").field(&self.redacted()).finish()
    }
}
