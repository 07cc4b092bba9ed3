//! The deployment environment, from `APP_ENV`.

use std::fmt;
use std::str::FromStr;

/// The environment variable read by [`AppEnv::from_env`].
pub const APP_ENV_VAR: &str = "APP_ENV";

/// The deployment environment.
///
/// Parsed case-insensitively from `dev`/`development`, `stage`/`staging` or
/// `prod`/`production` (surrounding whitespace ignored). Displays as the
/// short name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AppEnv {
    /// Development (the default when `APP_ENV` is unset or empty).
    #[default]
    Dev,
    /// Staging.
    Stage,
    /// Production.
    Prod,
}

/// `APP_ENV` holds a value that is not an accepted environment name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown {APP_ENV_VAR} value {value:?}: expected one of dev, development, stage, staging, \
     prod, production (case-insensitive)"
)]
pub struct AppEnvError {
    /// The rejected value (at most 64 characters of it).
    pub value: String,
}

impl AppEnv {
    /// Reads `APP_ENV`; unset, empty or non-Unicode means [`AppEnv::Dev`].
    pub fn from_env() -> Result<AppEnv, AppEnvError> {
        AppEnv::from_env_with(|name| std::env::var(name).ok())
    }

    /// [`AppEnv::from_env`] with an injectable environment lookup.
    pub fn from_env_with<F>(lookup: F) -> Result<AppEnv, AppEnvError>
    where
        F: FnOnce(&str) -> Option<String>,
    {
        match lookup(APP_ENV_VAR) {
            Some(value) if !value.trim().is_empty() => value.parse(),
            _ => Ok(AppEnv::Dev),
        }
    }

    /// The short name: `dev`, `stage` or `prod`.
    pub fn as_str(self) -> &'static str {
        match self {
            AppEnv::Dev => "dev",
            AppEnv::Stage => "stage",
            AppEnv::Prod => "prod",
        }
    }

    /// True for production.
    pub fn is_prod(self) -> bool {
        self == AppEnv::Prod
    }
}

impl fmt::Display for AppEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AppEnv {
    type Err = AppEnvError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "dev" | "development" => Ok(AppEnv::Dev),
            "stage" | "staging" => Ok(AppEnv::Stage),
            "prod" | "production" => Ok(AppEnv::Prod),
            _ => Err(AppEnvError {
                value: s.chars().take(64).collect(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_aliases() {
        for (text, env) in [
            ("dev", AppEnv::Dev),
            ("Development", AppEnv::Dev),
            ("STAGE", AppEnv::Stage),
            ("staging", AppEnv::Stage),
            (" prod ", AppEnv::Prod),
            ("PRODUCTION", AppEnv::Prod),
        ] {
            assert_eq!(text.parse::<AppEnv>(), Ok(env), "{text}");
        }
        assert_eq!(AppEnv::Prod.to_string(), "prod");
        assert_eq!(
            AppEnv::Stage.to_string().parse::<AppEnv>(),
            Ok(AppEnv::Stage)
        );
        assert!(AppEnv::Prod.is_prod());
        assert!(!AppEnv::Stage.is_prod());
        assert!(!AppEnv::Dev.is_prod());
    }

    #[test]
    fn unknown_value_lists_accepted_ones() {
        let err = "qa".parse::<AppEnv>().unwrap_err();
        assert_eq!(err.value, "qa");
        let text = err.to_string();
        assert!(text.contains("APP_ENV"), "{text}");
        assert!(text.contains("\"qa\""), "{text}");
        for name in [
            "dev",
            "development",
            "stage",
            "staging",
            "prod",
            "production",
        ] {
            assert!(text.contains(name), "{text}");
        }
        let long = "x".repeat(500);
        assert_eq!(long.parse::<AppEnv>().unwrap_err().value.len(), 64);
    }

    #[test]
    fn from_env_defaults_to_dev() {
        assert_eq!(AppEnv::from_env_with(|_| None), Ok(AppEnv::Dev));
        assert_eq!(
            AppEnv::from_env_with(|_| Some("  ".into())),
            Ok(AppEnv::Dev)
        );
        assert_eq!(
            AppEnv::from_env_with(|n| (n == "APP_ENV").then(|| "production".into())),
            Ok(AppEnv::Prod)
        );
        assert!(AppEnv::from_env_with(|_| Some("live".into())).is_err());
    }
}
