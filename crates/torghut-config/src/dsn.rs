//! DSN parsing: URLs (plain and SQLAlchemy-style) and libpq `key=value` strings.
//!
//! The parser produces a [`Spec`], a structured description of the connection
//! that [`crate::DbConfig`] turns into a `tokio_postgres::Config`. Errors never
//! copy input text (see [`DsnError`]).

use std::borrow::Cow;
use std::net::{IpAddr, Ipv6Addr};
use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use tokio_postgres::config::{
    ChannelBinding, LoadBalanceHosts, SslNegotiation, TargetSessionAttrs,
};

use crate::error::{Component, DsnError, KeyLocation};
use crate::SslMode;

/// The default PostgreSQL port.
pub(crate) const DEFAULT_PORT: u16 = 5432;

/// One entry of the host list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HostSpec {
    /// A host name or IP address (IPv6 without brackets).
    Tcp(String),
    /// A directory holding the server's Unix socket.
    Unix(PathBuf),
}

/// Where the trusted roots for certificate verification come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RootCert {
    /// A PEM file (`sslrootcert=/path`).
    File(PathBuf),
    /// The system store (`sslrootcert=system`).
    System,
}

/// The flavour of URL, which decides a few parameter spellings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Driver {
    /// `postgresql://` / `postgres://`.
    Libpq,
    /// `postgresql+psycopg://`.
    Psycopg,
    /// `postgresql+psycopg2://`.
    Psycopg2,
    /// `postgresql+asyncpg://`.
    Asyncpg,
}

/// Which syntax a parameter came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    KeyValue,
    Url(Driver),
}

/// A parsed connection description.
///
/// `Debug` is safe: the password is a [`SecretString`], which prints redacted.
#[derive(Debug, Clone, Default)]
pub(crate) struct Spec {
    pub hosts: Vec<HostSpec>,
    pub ports: Vec<u16>,
    pub hostaddrs: Vec<IpAddr>,
    pub user: Option<String>,
    pub password: Option<SecretString>,
    pub dbname: Option<String>,
    /// The explicitly configured mode; `None` means the default.
    pub sslmode: Option<SslMode>,
    pub sslrootcert: Option<RootCert>,
    pub sslnegotiation: Option<SslNegotiation>,
    /// `connect_timeout` as given, in seconds (libpq semantics: `<= 0` is none, 1 is 2).
    pub connect_timeout: Option<i64>,
    pub application_name: Option<String>,
    pub fallback_application_name: Option<String>,
    pub options: Option<String>,
    pub keepalives: Option<bool>,
    pub keepalives_idle: Option<u64>,
    pub keepalives_interval: Option<u64>,
    pub keepalives_count: Option<u32>,
    /// Milliseconds, as in libpq.
    pub tcp_user_timeout: Option<u64>,
    pub target_session_attrs: Option<TargetSessionAttrs>,
    pub channel_binding: Option<ChannelBinding>,
    pub load_balance_hosts: Option<LoadBalanceHosts>,
}

impl Spec {
    /// The sslmode in force: the configured one, else `verify-full` with
    /// `sslrootcert=system`, else `prefer`.
    pub fn effective_sslmode(&self) -> SslMode {
        match (self.sslmode, &self.sslrootcert) {
            (Some(mode), _) => mode,
            (None, Some(RootCert::System)) => SslMode::VerifyFull,
            (None, _) => SslMode::Prefer,
        }
    }

    /// The connect timeout with libpq's rules applied.
    pub fn connect_timeout_duration(&self) -> Option<Duration> {
        match self.connect_timeout {
            Some(secs) if secs > 0 => Some(Duration::from_secs(secs.max(2).unsigned_abs())),
            _ => None,
        }
    }

    /// Port of the i-th host.
    pub fn port_for(&self, index: usize) -> u16 {
        match self.ports.len() {
            0 => DEFAULT_PORT,
            1 => self.ports[0],
            _ => self.ports.get(index).copied().unwrap_or(DEFAULT_PORT),
        }
    }

    /// True when every host is a Unix socket.
    pub fn all_unix(&self) -> bool {
        !self.hosts.is_empty() && self.hosts.iter().all(|h| matches!(h, HostSpec::Unix(_)))
    }

    /// True when some but not all hosts are Unix sockets.
    pub fn mixed_hosts(&self) -> bool {
        let unix = self
            .hosts
            .iter()
            .filter(|h| matches!(h, HostSpec::Unix(_)))
            .count();
        unix > 0 && unix < self.hosts.len()
    }
}

/// libpq parameters this crate implements, in both syntaxes.
pub(crate) const SUPPORTED_KEYS: &[&str] = &[
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "sslmode",
    "sslrootcert",
    "sslnegotiation",
    "connect_timeout",
    "application_name",
    "fallback_application_name",
    "options",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_count",
    "tcp_user_timeout",
    "target_session_attrs",
    "channel_binding",
    "load_balance_hosts",
    "gssencmode",
];

/// libpq parameters that are recognised but rejected as unsupported.
const UNSUPPORTED_KEYS: &[&str] = &[
    "sslcert",
    "sslkey",
    "sslpassword",
    "sslcertmode",
    "sslcrl",
    "sslcrldir",
    "sslsni",
    "sslcompression",
    "ssl_min_protocol_version",
    "ssl_max_protocol_version",
    "sslkeylogfile",
    "passfile",
    "service",
    "requirepeer",
    "require_auth",
    "krbsrvname",
    "gsslib",
    "gssdelegation",
    "replication",
    "client_encoding",
    "min_protocol_version",
    "max_protocol_version",
];

/// Parses any accepted DSN form into a validated [`Spec`].
pub(crate) fn parse_spec(input: &str) -> Result<Spec, DsnError> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(DsnError::Empty);
    }
    if let Some(idx) = trimmed.find("://") {
        let scheme = &trimmed[..idx];
        if is_scheme(scheme) {
            return parse_url(scheme, &trimmed[idx + 3..]).and_then(finish);
        }
    }
    if looks_like_key_value(trimmed) {
        return parse_key_value(input).and_then(finish);
    }
    if trimmed.contains("://") {
        return Err(DsnError::UnknownScheme { scheme: None });
    }
    Err(DsnError::UnrecognizedFormat)
}

/// RFC 3986 scheme syntax: a letter followed by letters, digits, `+`, `-`, `.`.
fn is_scheme(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// Well-known non-PostgreSQL URL schemes, named in errors.
const KNOWN_OTHER_SCHEMES: &[&str] = &[
    "mysql",
    "mariadb",
    "sqlite",
    "mssql",
    "sqlserver",
    "oracle",
    "redis",
    "rediss",
    "mongodb",
    "mongodb+srv",
    "http",
    "https",
    "file",
    "jdbc",
    "cockroachdb",
    "amqp",
    "kafka",
];

/// Other SQLAlchemy PostgreSQL drivers, named in errors.
const KNOWN_OTHER_DRIVERS: &[&str] = &[
    "pg8000",
    "psycopg2cffi",
    "pygresql",
    "pypostgresql",
    "psycopg_async",
    "aiopg",
];

/// Errors only ever repeat a scheme or driver name from a fixed list, so no
/// input text (which could hold a misplaced secret) is echoed.
fn known_name(name: &str, known: &[&'static str]) -> Option<String> {
    known
        .iter()
        .find(|k| k.eq_ignore_ascii_case(name))
        .map(|k| (*k).to_owned())
}

fn parse_scheme(scheme: &str) -> Result<Driver, DsnError> {
    let lower = scheme.to_ascii_lowercase();
    let (base, driver) = match lower.split_once('+') {
        Some((base, driver)) => (base, Some(driver)),
        None => (lower.as_str(), None),
    };
    if base != "postgresql" && base != "postgres" {
        return Err(DsnError::UnknownScheme {
            scheme: known_name(&lower, KNOWN_OTHER_SCHEMES),
        });
    }
    match driver {
        None => Ok(Driver::Libpq),
        Some("psycopg") => Ok(Driver::Psycopg),
        Some("psycopg2") => Ok(Driver::Psycopg2),
        Some("asyncpg") => Ok(Driver::Asyncpg),
        Some(other) => Err(DsnError::UnknownDriver {
            driver: known_name(other, KNOWN_OTHER_DRIVERS),
        }),
    }
}

/// True when the text starts with `identifier\s*=`.
fn looks_like_key_value(s: &str) -> bool {
    let mut chars = s.chars().peekable();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return false,
    }
    while matches!(chars.peek(), Some(c) if c.is_ascii_alphanumeric() || *c == '_') {
        chars.next();
    }
    while matches!(chars.peek(), Some(c) if c.is_ascii_whitespace()) {
        chars.next();
    }
    chars.next() == Some('=')
}

/// Strict percent-decoding: every `%` must start a two-hex-digit escape and
/// the result must be UTF-8.
fn decode(s: &str, component: Component) -> Result<String, DsnError> {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let ok = bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
            if !ok {
                return Err(DsnError::InvalidPercentEncoding { component });
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .map(Cow::into_owned)
        .map_err(|_| DsnError::InvalidUtf8 { component })
}

fn parse_url(scheme: &str, rest: &str) -> Result<Spec, DsnError> {
    let driver = parse_scheme(scheme)?;
    let form = Form::Url(driver);
    let mut spec = Spec::default();

    let auth_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (auth, tail) = rest.split_at(auth_end);
    let (userinfo, hostspec) = match auth.rfind('@') {
        Some(at) => (Some(&auth[..at]), &auth[at + 1..]),
        None => (None, auth),
    };
    // Without `@` in the authority, an `@` later on almost always means a
    // password holding an unescaped `/` or `?`: refuse rather than treat part
    // of it as a host, database name or parameter (which would be displayed).
    if userinfo.is_none() && tail.contains('@') {
        return Err(DsnError::UnencodedUserinfo);
    }

    if let Some(userinfo) = userinfo {
        let (user, password) = match userinfo.split_once(':') {
            Some((user, password)) => (user, Some(password)),
            None => (userinfo, None),
        };
        let user = decode(user, Component::User)?;
        if !user.is_empty() {
            spec.user = Some(user);
        }
        if let Some(password) = password {
            let password = decode(password, Component::Password)?;
            if !password.is_empty() {
                spec.password = Some(SecretString::from(password));
            }
        }
    }

    let (hosts, ports) = parse_authority_hosts(hostspec)?;
    spec.hosts = hosts;
    spec.ports = ports;

    let (path, query) = match tail.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (tail, None),
    };
    if let Some(db) = path.strip_prefix('/') {
        if db.contains(['/', '@']) {
            return Err(DsnError::InvalidValue {
                key: "dbname",
                expected: "a database name with `/` and `@` percent-encoded",
            });
        }
        let db = decode(db, Component::Dbname)?;
        if !db.is_empty() {
            spec.dbname = Some(db);
        }
    }

    if let Some(query) = query {
        for (i, pair) in query.split('&').enumerate() {
            if pair.is_empty() {
                continue;
            }
            let index = i + 1;
            let Some((raw_key, raw_value)) = pair.split_once('=') else {
                return Err(DsnError::MalformedQuery { index });
            };
            let key = decode(raw_key, Component::ParamName)?;
            let key = canonical_key(&key, form, KeyLocation::Query { index })?;
            let value = decode(raw_value, Component::Param(key))?;
            apply(&mut spec, key, value, form)?;
        }
    }
    Ok(spec)
}

/// Parses `host[:port][,host[:port]...]` from a URL authority.
fn parse_authority_hosts(spec: &str) -> Result<(Vec<HostSpec>, Vec<u16>), DsnError> {
    if spec.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let entries: Vec<&str> = spec.split(',').collect();
    let mut hosts = Vec::with_capacity(entries.len());
    let mut ports: Vec<Option<u16>> = Vec::with_capacity(entries.len());
    for entry in &entries {
        let (host, port) = if let Some(inner) = entry.strip_prefix('[') {
            let Some(close) = inner.find(']') else {
                return Err(DsnError::InvalidHost {
                    reason: "IPv6 address is missing its closing `]`",
                });
            };
            let after = &inner[close + 1..];
            let port = if after.is_empty() {
                None
            } else if let Some(port) = after.strip_prefix(':') {
                Some(port)
            } else {
                return Err(DsnError::InvalidHost {
                    reason: "unexpected characters after an IPv6 address",
                });
            };
            let addr = decode(&inner[..close], Component::Host)?;
            let bare = addr.split('%').next().unwrap_or_default();
            if bare.parse::<Ipv6Addr>().is_err() {
                return Err(DsnError::InvalidHost {
                    reason: "not a valid IPv6 address inside `[...]`",
                });
            }
            (Some(HostSpec::Tcp(addr)), port)
        } else {
            let (host, port) = match entry.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (*entry, None),
            };
            let host = decode(host, Component::Host)?;
            let host = if host.is_empty() {
                None
            } else {
                Some(host_entry(&host)?)
            };
            (host, port)
        };
        hosts.push(host);
        ports.push(port.map(parse_port).transpose()?);
    }

    let hosts: Vec<HostSpec> = if hosts.len() == 1 && hosts[0].is_none() {
        // `postgresql://user@:5433/db` or `postgresql:///db`: the host may
        // still come from `?host=`.
        Vec::new()
    } else {
        hosts
            .into_iter()
            .map(|h| h.ok_or(DsnError::EmptyHost))
            .collect::<Result<_, _>>()?
    };
    let ports = if ports.iter().all(Option::is_none) {
        Vec::new()
    } else {
        ports
            .into_iter()
            .map(|p| p.unwrap_or(DEFAULT_PORT))
            .collect()
    };
    Ok((hosts, ports))
}

/// Classifies one host list entry (already percent-decoded).
fn host_entry(host: &str) -> Result<HostSpec, DsnError> {
    if host.is_empty() {
        return Err(DsnError::EmptyHost);
    }
    if host.starts_with('/') {
        return Ok(HostSpec::Unix(PathBuf::from(host)));
    }
    if host
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || "[]@/?#=\\'\"".contains(c))
    {
        return Err(DsnError::InvalidHost {
            reason: "contains a character that is not allowed in a host name",
        });
    }
    Ok(HostSpec::Tcp(host.to_owned()))
}

fn parse_port(s: &str) -> Result<u16, DsnError> {
    if s.is_empty() || s.len() > 5 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DsnError::InvalidPort);
    }
    match s.parse::<u16>() {
        Ok(0) | Err(_) => Err(DsnError::InvalidPort),
        Ok(port) => Ok(port),
    }
}

/// Parses a libpq `key=value` string, following libpq's quoting rules:
/// values may be single-quoted, and a backslash escapes the next character
/// both inside and outside quotes.
fn parse_key_value(input: &str) -> Result<Spec, DsnError> {
    let mut spec = Spec::default();
    let mut it = input.char_indices().peekable();
    loop {
        while it.next_if(|(_, c)| c.is_ascii_whitespace()).is_some() {}
        let Some(&(key_start, _)) = it.peek() else {
            break;
        };
        let mut key_end = key_start;
        while let Some((i, c)) = it.next_if(|(_, c)| *c != '=' && !c.is_ascii_whitespace()) {
            key_end = i + c.len_utf8();
        }
        let key = &input[key_start..key_end];
        while it.next_if(|(_, c)| c.is_ascii_whitespace()).is_some() {}
        if it.next_if(|(_, c)| *c == '=').is_none() {
            return Err(DsnError::MissingEquals { offset: key_start });
        }
        while it.next_if(|(_, c)| c.is_ascii_whitespace()).is_some() {}

        let mut value = String::new();
        if let Some((quote, _)) = it.next_if(|(_, c)| *c == '\'') {
            loop {
                match it.next() {
                    None => return Err(DsnError::UnterminatedQuote { offset: quote }),
                    Some((_, '\\')) => match it.next() {
                        Some((_, c)) => value.push(c),
                        None => return Err(DsnError::UnterminatedQuote { offset: quote }),
                    },
                    Some((_, '\'')) => break,
                    Some((_, c)) => value.push(c),
                }
            }
        } else {
            while let Some((_, c)) = it.next_if(|(_, c)| !c.is_ascii_whitespace()) {
                if c == '\\' {
                    if let Some((_, escaped)) = it.next() {
                        value.push(escaped);
                    }
                } else {
                    value.push(c);
                }
            }
        }

        let key = canonical_key(
            key,
            Form::KeyValue,
            KeyLocation::KeyValue { offset: key_start },
        )?;
        apply(&mut spec, key, value, Form::KeyValue)?;
    }
    Ok(spec)
}

/// Maps a parameter name to its canonical spelling from the keyword tables.
fn canonical_key(raw: &str, form: Form, location: KeyLocation) -> Result<&'static str, DsnError> {
    let lower = raw.to_ascii_lowercase();
    if let Some(key) = SUPPORTED_KEYS.iter().find(|k| **k == lower) {
        return Ok(key);
    }
    if let Form::Url(driver) = form {
        if lower == "ssl" {
            return Ok("ssl");
        }
        if driver == Driver::Asyncpg && lower == "database" {
            return Ok("dbname");
        }
    }
    if let Some(key) = UNSUPPORTED_KEYS.iter().find(|k| **k == lower) {
        return Err(DsnError::UnsupportedKey { key });
    }
    Err(DsnError::UnknownKey {
        location,
        suggestion: suggest(&lower),
    })
}

/// A supported key within edit distance 2 of `raw`, if any.
fn suggest(raw: &str) -> Option<&'static str> {
    if raw.len() < 3 || raw.len() > 40 {
        return None;
    }
    SUPPORTED_KEYS
        .iter()
        .map(|k| (edit_distance(raw, k), *k))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

fn invalid(key: &'static str, expected: &'static str) -> DsnError {
    DsnError::InvalidValue { key, expected }
}

fn non_empty(value: String) -> Option<String> {
    (!value.is_empty()).then_some(value)
}

fn parse_seconds(key: &'static str, value: &str) -> Result<u64, DsnError> {
    value
        .parse::<u64>()
        .map_err(|_| invalid(key, "a non-negative integer number of seconds"))
}

/// Applies one (canonical) parameter to the spec.
fn apply(spec: &mut Spec, key: &'static str, value: String, form: Form) -> Result<(), DsnError> {
    match key {
        "host" => {
            if value.is_empty() {
                return Err(DsnError::EmptyHost);
            }
            spec.hosts = value.split(',').map(host_entry).collect::<Result<_, _>>()?;
        }
        "hostaddr" => {
            spec.hostaddrs = value
                .split(',')
                .map(|a| a.parse::<IpAddr>())
                .collect::<Result<_, _>>()
                .map_err(|_| invalid(key, "a comma-separated list of IP addresses"))?;
        }
        "port" => {
            spec.ports = value.split(',').map(parse_port).collect::<Result<_, _>>()?;
        }
        "dbname" => spec.dbname = non_empty(value),
        "user" => spec.user = non_empty(value),
        "password" => spec.password = non_empty(value).map(SecretString::from),
        "sslmode" => spec.sslmode = Some(value.parse()?),
        "ssl" => spec.sslmode = Some(parse_ssl_flag(&value, form)?),
        "sslrootcert" => {
            spec.sslrootcert = match value.as_str() {
                "" => None,
                "system" => Some(RootCert::System),
                _ => Some(RootCert::File(PathBuf::from(value))),
            }
        }
        "sslnegotiation" => {
            spec.sslnegotiation = Some(match value.as_str() {
                "postgres" => SslNegotiation::Postgres,
                "direct" => SslNegotiation::Direct,
                _ => return Err(invalid(key, "postgres or direct")),
            })
        }
        "connect_timeout" => {
            let secs = value
                .trim()
                .parse::<i64>()
                .map_err(|_| invalid(key, "an integer number of seconds"))?;
            spec.connect_timeout = Some(secs);
        }
        "application_name" => spec.application_name = non_empty(value),
        "fallback_application_name" => spec.fallback_application_name = non_empty(value),
        "options" => spec.options = non_empty(value),
        "keepalives" => {
            spec.keepalives = Some(match value.as_str() {
                "1" => true,
                "0" => false,
                _ => return Err(invalid(key, "0 or 1")),
            })
        }
        "keepalives_idle" => spec.keepalives_idle = Some(parse_seconds(key, &value)?),
        "keepalives_interval" => spec.keepalives_interval = Some(parse_seconds(key, &value)?),
        "keepalives_count" => {
            spec.keepalives_count = Some(
                value
                    .parse::<u32>()
                    .map_err(|_| invalid(key, "a non-negative integer"))?,
            )
        }
        "tcp_user_timeout" => {
            spec.tcp_user_timeout = Some(
                value
                    .parse::<u64>()
                    .map_err(|_| invalid(key, "a non-negative integer number of milliseconds"))?,
            )
        }
        "target_session_attrs" => {
            spec.target_session_attrs = Some(match value.as_str() {
                "any" => TargetSessionAttrs::Any,
                "read-write" => TargetSessionAttrs::ReadWrite,
                "read-only" => TargetSessionAttrs::ReadOnly,
                _ => return Err(invalid(key, "any, read-write or read-only")),
            })
        }
        "channel_binding" => {
            spec.channel_binding = Some(match value.as_str() {
                "disable" => ChannelBinding::Disable,
                "prefer" => ChannelBinding::Prefer,
                "require" => ChannelBinding::Require,
                _ => return Err(invalid(key, "disable, prefer or require")),
            })
        }
        "load_balance_hosts" => {
            spec.load_balance_hosts = Some(match value.as_str() {
                "disable" => LoadBalanceHosts::Disable,
                "random" => LoadBalanceHosts::Random,
                _ => return Err(invalid(key, "disable or random")),
            })
        }
        "gssencmode" => match value.as_str() {
            // GSSAPI encryption is never attempted, which satisfies both.
            "disable" | "prefer" => {}
            _ => {
                return Err(invalid(
                    key,
                    "disable or prefer (GSSAPI encryption is not supported)",
                ))
            }
        },
        // Every key returned by `canonical_key` is handled above.
        _ => return Err(DsnError::UnsupportedKey { key }),
    }
    Ok(())
}

/// `ssl=` in a URL query. libpq accepts only `ssl=true` (meaning
/// `sslmode=require`); asyncpg accepts any sslmode name plus booleans.
fn parse_ssl_flag(value: &str, form: Form) -> Result<SslMode, DsnError> {
    let lower = value.to_ascii_lowercase();
    match (form, lower.as_str()) {
        (_, "true") => Ok(SslMode::Require),
        (Form::Url(Driver::Asyncpg), "1" | "yes" | "on") => Ok(SslMode::Require),
        (Form::Url(Driver::Asyncpg), "false" | "0" | "no" | "off") => Ok(SslMode::Disable),
        (Form::Url(Driver::Asyncpg), _) => lower.parse(),
        _ => Err(invalid(
            "ssl",
            "`true` (use sslmode=... for other TLS settings)",
        )),
    }
}

/// Validates the combination of parameters and fills in defaults.
fn finish(mut spec: Spec) -> Result<Spec, DsnError> {
    if spec.hosts.is_empty() {
        return Err(DsnError::EmptyHost);
    }
    let Some(user) = spec.user.clone() else {
        return Err(DsnError::MissingUser);
    };
    let hosts = spec.hosts.len();
    let ports = spec.ports.len();
    if ports > 1 && ports != hosts {
        return Err(DsnError::PortCountMismatch { hosts, ports });
    }
    let hostaddrs = spec.hostaddrs.len();
    if hostaddrs > 0 && hostaddrs != hosts {
        return Err(DsnError::HostaddrCountMismatch { hosts, hostaddrs });
    }
    if spec.sslrootcert == Some(RootCert::System)
        && spec.sslmode.is_some_and(|m| m != SslMode::VerifyFull)
    {
        return Err(DsnError::WeakSslModeWithSystemRoots);
    }
    let mode = spec.effective_sslmode();
    if spec.mixed_hosts() && mode.requires_tls() {
        return Err(DsnError::TlsWithMixedHosts { mode });
    }
    if spec.dbname.is_none() {
        // What the server would pick; fixed now so that a later change of
        // user keeps the same database.
        spec.dbname = Some(user);
    }
    if spec.application_name.is_none() {
        spec.application_name = spec.fallback_application_name.take();
    }
    spec.fallback_application_name = None;
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_basics() {
        assert_eq!(edit_distance("sslmode", "sslmode"), 0);
        assert_eq!(edit_distance("sslmod", "sslmode"), 1);
        assert_eq!(edit_distance("slmdoe", "sslmode"), 3);
        assert_eq!(suggest("sslmod"), Some("sslmode"));
        assert_eq!(suggest("dbnme"), Some("dbname"));
        assert_eq!(suggest("zzzzzzzzzz"), None);
    }

    #[test]
    fn scheme_detection() {
        assert!(is_scheme("postgresql+asyncpg"));
        assert!(!is_scheme("jdbc:postgresql"));
        assert!(!is_scheme(""));
        assert!(!is_scheme("1abc"));
    }

    #[test]
    fn key_value_detection() {
        assert!(looks_like_key_value("host=x"));
        assert!(looks_like_key_value("host = x"));
        assert!(!looks_like_key_value("host x"));
        assert!(!looks_like_key_value("=x"));
    }

    #[test]
    fn strict_percent_decoding() {
        assert_eq!(decode("p%40ss", Component::Password).unwrap(), "p@ss");
        assert_eq!(
            decode("p%4", Component::Password),
            Err(DsnError::InvalidPercentEncoding {
                component: Component::Password
            })
        );
        assert_eq!(
            decode("%zz", Component::User),
            Err(DsnError::InvalidPercentEncoding {
                component: Component::User
            })
        );
        assert_eq!(
            decode("%ff", Component::Dbname),
            Err(DsnError::InvalidUtf8 {
                component: Component::Dbname
            })
        );
    }

    #[test]
    fn ports() {
        assert_eq!(parse_port("5432"), Ok(5432));
        assert_eq!(parse_port("65535"), Ok(65535));
        for bad in ["", "0", "65536", "-1", "+1", "54x", "123456", " 1"] {
            assert_eq!(parse_port(bad), Err(DsnError::InvalidPort), "{bad:?}");
        }
    }

    #[test]
    fn connect_timeout_rules() {
        let mut spec = Spec::default();
        for (given, expected) in [
            (-5, None),
            (0, None),
            (1, Some(2)),
            (2, Some(2)),
            (30, Some(30)),
        ] {
            spec.connect_timeout = Some(given);
            assert_eq!(
                spec.connect_timeout_duration(),
                expected.map(Duration::from_secs),
                "{given}"
            );
        }
    }
}
