//! Finding the DSN: the `--dsn` flag, then environment variables.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

use crate::error::DsnError;
use crate::redact::redact_dsn;
use crate::DbConfig;

/// Environment variables consulted by [`resolve_dsn`], in order.
pub const DSN_ENV_VARS: [&str; 3] = ["DB_DSN", "DB_URL", "DATABASE_URL"];

/// Where a DSN came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DsnSource {
    /// The `--dsn` command-line flag.
    Flag,
    /// An environment variable (one of [`DSN_ENV_VARS`]).
    Env(&'static str),
}

impl fmt::Display for DsnSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DsnSource::Flag => f.write_str("--dsn"),
            DsnSource::Env(name) => f.write_str(name),
        }
    }
}

/// A DSN and where it came from.
///
/// The DSN is kept as a [`SecretString`]; `Debug` shows it redacted.
#[derive(Clone)]
pub struct ResolvedDsn {
    origin: DsnSource,
    dsn: SecretString,
}

impl ResolvedDsn {
    /// Wraps a DSN from a known source (surrounding whitespace is removed).
    pub fn new(origin: DsnSource, dsn: &str) -> ResolvedDsn {
        ResolvedDsn {
            origin,
            dsn: SecretString::from(dsn.trim()),
        }
    }

    /// Where the DSN came from.
    pub fn source(&self) -> DsnSource {
        self.origin
    }

    /// The DSN text (surrounding whitespace removed).
    pub fn dsn(&self) -> &SecretString {
        &self.dsn
    }

    /// Parses the DSN; the error names the source, e.g. `DB_URL: invalid port ...`.
    pub fn parse(&self) -> Result<DbConfig, ResolvedDsnError> {
        DbConfig::parse(self.dsn.expose_secret()).map_err(|error| ResolvedDsnError {
            origin: self.origin,
            error,
        })
    }
}

impl fmt::Debug for ResolvedDsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResolvedDsn")
            .field("origin", &self.origin)
            .field("dsn", &redact_dsn(self.dsn.expose_secret()))
            .finish()
    }
}

/// A resolved DSN failed to parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}: {error}")]
pub struct ResolvedDsnError {
    /// Where the DSN came from.
    pub origin: DsnSource,
    /// What is wrong with it.
    #[source]
    pub error: DsnError,
}

/// Finds the DSN: the `--dsn` flag value if given, else the first of
/// `DB_DSN`, `DB_URL`, `DATABASE_URL` that is set.
///
/// Values are trimmed (secrets mounted from files often end in a newline),
/// and empty or whitespace-only values count as unset. Variables whose value
/// is not valid Unicode also count as unset.
pub fn resolve_dsn(flag: Option<&str>) -> Option<ResolvedDsn> {
    resolve_dsn_with(flag, |name| std::env::var(name).ok())
}

/// [`resolve_dsn`] with an injectable environment lookup, for tests.
///
/// ```
/// use torghut_config::{resolve_dsn_with, DsnSource};
///
/// let env = |name: &str| (name == "DB_URL").then(|| "postgresql://u@h/d".to_owned());
/// let found = resolve_dsn_with(None, env).unwrap();
/// assert_eq!(found.source(), DsnSource::Env("DB_URL"));
/// ```
pub fn resolve_dsn_with<F>(flag: Option<&str>, mut lookup: F) -> Option<ResolvedDsn>
where
    F: FnMut(&str) -> Option<String>,
{
    if let Some(value) = flag.map(str::trim).filter(|v| !v.is_empty()) {
        return Some(ResolvedDsn::new(DsnSource::Flag, value));
    }
    DSN_ENV_VARS.iter().find_map(|name| {
        let value = lookup(name)?;
        let value = value.trim();
        (!value.is_empty()).then(|| ResolvedDsn::new(DsnSource::Env(name), value))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl FnMut(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn flag_wins() {
        let got = resolve_dsn_with(
            Some("postgresql://f@h/d"),
            env(&[("DB_DSN", "postgresql://e@h/d")]),
        )
        .unwrap();
        assert_eq!(got.source(), DsnSource::Flag);
        assert_eq!(got.dsn().expose_secret(), "postgresql://f@h/d");
    }

    #[test]
    fn env_order_and_empty_values() {
        let all = [
            ("DB_DSN", "postgresql://a@h/d"),
            ("DB_URL", "postgresql://b@h/d"),
            ("DATABASE_URL", "postgresql://c@h/d"),
        ];
        assert_eq!(
            resolve_dsn_with(None, env(&all)).unwrap().source(),
            DsnSource::Env("DB_DSN")
        );
        let got = resolve_dsn_with(
            Some("  "),
            env(&[
                ("DB_DSN", ""),
                ("DB_URL", " \n"),
                ("DATABASE_URL", "postgresql://c@h/d\n"),
            ]),
        )
        .unwrap();
        assert_eq!(got.source(), DsnSource::Env("DATABASE_URL"));
        assert_eq!(got.dsn().expose_secret(), "postgresql://c@h/d");
        assert!(resolve_dsn_with(None, env(&[])).is_none());
        assert!(resolve_dsn_with(Some(""), env(&[("DB_URL", "")])).is_none());
    }

    #[test]
    fn errors_name_the_source_and_hide_the_password() {
        let got = resolve_dsn_with(
            None,
            env(&[("DB_URL", "postgresql://u:Sup3rS3cret@h:99999/d")]),
        )
        .unwrap();
        let err = got.parse().unwrap_err();
        assert_eq!(err.error, DsnError::InvalidPort);
        let text = err.to_string();
        assert!(text.starts_with("DB_URL: invalid port"), "{text}");
        assert!(!text.contains("Sup3rS3cret"));
        let debug = format!("{got:?}");
        assert!(!debug.contains("Sup3rS3cret"), "{debug}");
        assert!(debug.contains("DB_URL"), "{debug}");
    }

    #[test]
    fn parse_ok() {
        let got = ResolvedDsn::new(DsnSource::Flag, "postgresql://u:pw@h/d");
        assert_eq!(got.parse().unwrap().dbname(), "d");
    }
}
