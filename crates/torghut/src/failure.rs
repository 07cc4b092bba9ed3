//! How every command reports that it failed: one type and one way. The message goes to stderr as
//! `error: ...`; with `--json`, one JSON line on stdout says the same (`ok: false`, `error`,
//! `exit_code`, and `details` when there are any); the exit code is 2 for configuration, usage
//! and connection problems and 1 for a check or an operation that failed.

use serde_json::json;

/// A failed command.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
    pub details: Option<serde_json::Value>,
}

impl Failure {
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            details: None,
        }
    }

    /// Configuration, usage or connection: exit code 2.
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(2, message)
    }

    /// With machine-readable details (in the JSON line).
    pub fn with_details(mut self, details: Option<serde_json::Value>) -> Self {
        self.details = details;
        self
    }

    /// Prints the failure (and its JSON line with `json_out`) and returns its exit code.
    pub fn report(&self, json_out: bool) -> u8 {
        eprintln!("error: {}", self.message);
        if json_out {
            let mut obj = json!({ "ok": false, "error": self.message, "exit_code": self.code });
            if let Some(d) = &self.details {
                obj["details"] = d.clone();
            }
            println!("{obj}");
        }
        self.code
    }
}
