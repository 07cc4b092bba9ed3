//! What a column accepts: limits and redacted member names.

/// Default nesting limit: 64 levels of arrays and objects.
pub const DEFAULT_MAX_DEPTH: usize = 64;
/// Default size limit of the canonical text: 1 MiB.
pub const DEFAULT_MAX_BYTES: usize = 1_048_576;
/// Member names whose values are redacted by default (matched case-insensitively on the whole
/// name).
pub const DEFAULT_REDACT_KEYS: [&str; 8] = [
    "authorization",
    "api_key",
    "apca_api_secret_key",
    "password",
    "secret",
    "token",
    "cookie",
    "dsn",
];
/// Hard ceiling on the nesting limit, whatever a policy says: well within PostgreSQL's stack
/// (`max_stack_depth`), and within a quarter of a 2 MiB thread stack (tokio's workers, test
/// threads) for this crate's recursion even in an unoptimised build.
pub const MAX_DEPTH_CEILING: usize = 256;
/// Hard ceiling on the size limit, whatever a policy says: 32 MiB of text. jsonb refuses a
/// container over 256 MiB in its binary form, which can be up to about six times the text
/// (an array of one-digit numbers); 32 MiB stays clear of it for any content.
pub const MAX_BYTES_CEILING: usize = 32 * 1_048_576;

/// What a payload column accepts.
///
/// ```
/// use torghut_json::JsonPolicy;
/// let p = JsonPolicy::with_extra_redact_keys(["x-api-key"]).depth_limit(16).object_required();
/// assert!(p.redact_keys.iter().any(|k| k == "token"));
/// assert_eq!(p.max_depth, 16);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPolicy {
    /// Most levels of nested arrays and objects (a scalar document has depth 0, `[]` depth 1).
    /// Capped at [`MAX_DEPTH_CEILING`].
    pub max_depth: usize,
    /// Most bytes of canonical text (after redaction). Capped at [`MAX_BYTES_CEILING`].
    pub max_bytes: usize,
    /// Member names whose values are replaced by `"[REDACTED]"`, at any depth, whatever the
    /// value's type. Matched on the whole name, ignoring case (Unicode lower-casing).
    pub redact_keys: Vec<String>,
    /// Refuse a document that is not an object ([`JsonErrorReason::NotAnObject`]).
    ///
    /// [`JsonErrorReason::NotAnObject`]: crate::JsonErrorReason::NotAnObject
    pub require_object: bool,
}

impl Default for JsonPolicy {
    fn default() -> Self {
        Self {
            max_depth: DEFAULT_MAX_DEPTH,
            max_bytes: DEFAULT_MAX_BYTES,
            redact_keys: DEFAULT_REDACT_KEYS.iter().map(|&k| k.to_owned()).collect(),
            require_object: false,
        }
    }
}

impl JsonPolicy {
    /// Default limits, redacting exactly `keys` (replacing the default list; an empty list
    /// redacts nothing).
    pub fn with_redact_keys<I, S>(keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            redact_keys: keys.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }

    /// Default limits, redacting the default names and also `keys`.
    pub fn with_extra_redact_keys<I, S>(keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut p = Self::default();
        p.redact_keys.extend(keys.into_iter().map(Into::into));
        p
    }

    /// This policy with nesting limited to `max_depth` levels.
    #[must_use]
    pub fn depth_limit(mut self, max_depth: usize) -> Self {
        self.max_depth = max_depth;
        self
    }

    /// This policy with the canonical text limited to `max_bytes` bytes.
    #[must_use]
    pub fn size_limit(mut self, max_bytes: usize) -> Self {
        self.max_bytes = max_bytes;
        self
    }

    /// This policy, refusing documents that are not objects.
    #[must_use]
    pub fn object_required(mut self) -> Self {
        self.require_object = true;
        self
    }

    /// The nesting limit actually enforced: `max_depth`, capped at [`MAX_DEPTH_CEILING`].
    pub fn effective_max_depth(&self) -> usize {
        self.max_depth.min(MAX_DEPTH_CEILING)
    }

    /// The size limit actually enforced: `max_bytes`, capped at [`MAX_BYTES_CEILING`].
    pub fn effective_max_bytes(&self) -> usize {
        self.max_bytes.min(MAX_BYTES_CEILING)
    }
}
