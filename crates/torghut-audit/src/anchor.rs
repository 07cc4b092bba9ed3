//! Anchors: a checkpoint's id, hash and time, signed with an Ed25519 key the database never sees,
//! kept outside the database (a log pipeline, a file, a directory). An owner who rewrites a row
//! and recomputes every hash, every seal and every checkpoint after it cannot recompute the
//! anchors: `torghut audit verify --anchors` finds the database's checkpoint chain no longer
//! holding an anchored checkpoint unchanged. (Certificate Transparency's signed tree heads and
//! a ledger's published digests work the same way: the verifier keeps state the prover cannot
//! rewrite.)
//!
//! The signed message is `torghut audit anchor v1\n<id>\n<hash hex>\n<created_at>\n`; the key
//! file holds the 32-byte Ed25519 secret seed as 64 hex characters.

use std::path::Path;

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use tokio_postgres::GenericClient;

use crate::chain::Checkpoint;
use crate::verify::Finding;
use crate::AuditError;

/// One anchor, as one JSON line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anchor {
    /// Always `torghut-audit-anchor`.
    pub anchor: String,
    pub version: u32,
    pub checkpoint_id: i64,
    /// The checkpoint's hash (hex).
    pub hash: String,
    /// When the checkpoint was taken (RFC 3339, UTC, microseconds).
    pub created_at: String,
    /// The signer's public key (hex).
    pub public_key: String,
    /// Ed25519 signature of the message (hex).
    pub signature: String,
}

const KIND: &str = "torghut-audit-anchor";

fn message(id: i64, hash: &str, created_at: &str) -> String {
    format!("torghut audit anchor v1\n{id}\n{hash}\n{created_at}\n")
}

fn key_error(path: &Path, message: impl Into<String>) -> AuditError {
    AuditError::File {
        path: path.display().to_string(),
        message: message.into(),
    }
}

/// Reads a signing key file (64 hex characters: the secret seed).
pub fn read_signing_key(path: &Path) -> Result<SigningKey, AuditError> {
    let text = std::fs::read_to_string(path).map_err(|e| key_error(path, e.to_string()))?;
    let seed: [u8; 32] = hex::decode(text.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| key_error(path, "not an Ed25519 secret key (64 hex characters)"))?;
    Ok(SigningKey::from_bytes(&seed))
}

/// A public key given as 64 hex characters, or a file holding them.
pub fn read_public_key(text_or_path: &str) -> Result<VerifyingKey, AuditError> {
    let text = match std::fs::read_to_string(text_or_path) {
        Ok(t) => t,
        Err(_) => text_or_path.to_owned(),
    };
    let bytes: [u8; 32] = hex::decode(text.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| {
            key_error(
                Path::new(text_or_path),
                "not an Ed25519 public key (64 hex characters)",
            )
        })?;
    VerifyingKey::from_bytes(&bytes).map_err(|e| {
        key_error(
            Path::new(text_or_path),
            format!("not an Ed25519 public key: {e}"),
        )
    })
}

/// A new signing key from the operating system's random source: (secret seed hex, public hex).
pub fn generate_key() -> Result<(String, String), AuditError> {
    let mut seed = [0u8; 32];
    getrandom::getrandom(&mut seed)
        .map_err(|e| AuditError::InvalidRequest(format!("no randomness: {e}")))?;
    let key = SigningKey::from_bytes(&seed);
    Ok((
        hex::encode(seed),
        hex::encode(key.verifying_key().to_bytes()),
    ))
}

impl Anchor {
    /// Signs a checkpoint.
    pub fn sign(cp: &Checkpoint, key: &SigningKey) -> Self {
        let msg = message(cp.id, &cp.hash, &cp.created_at);
        Self {
            anchor: KIND.to_owned(),
            version: 1,
            checkpoint_id: cp.id,
            hash: cp.hash.clone(),
            created_at: cp.created_at.clone(),
            public_key: hex::encode(key.verifying_key().to_bytes()),
            signature: hex::encode(key.sign(msg.as_bytes()).to_bytes()),
        }
    }

    /// Checks the signature: with `trusted` when given (the anchor must be signed by it), else
    /// with the anchor's own public key (which only proves the line was not altered).
    pub fn check_signature(&self, trusted: Option<&VerifyingKey>) -> Result<(), String> {
        if self.anchor != KIND || self.version != 1 {
            return Err("not a torghut audit anchor (version 1)".into());
        }
        let key = match trusted {
            Some(k) => {
                if hex::encode(k.to_bytes()) != self.public_key {
                    return Err("signed by another key than the trusted one".into());
                }
                *k
            }
            None => read_public_key(&self.public_key).map_err(|e| e.to_string())?,
        };
        let sig: [u8; 64] = hex::decode(&self.signature)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or("its signature is not 64 bytes of hex")?;
        key.verify(
            message(self.checkpoint_id, &self.hash, &self.created_at).as_bytes(),
            &Signature::from_bytes(&sig),
        )
        .map_err(|_| "its signature does not verify".to_owned())
    }

    /// The anchor as one JSON line.
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Reads anchors from a file of JSON lines, or from every `*.json`/`*.jsonl` file of a
/// directory. Lines that are not anchors are errors (naming the file and line).
pub fn read_anchors(path: &Path) -> Result<Vec<Anchor>, AuditError> {
    let mut files = Vec::new();
    if path.is_dir() {
        let entries = std::fs::read_dir(path).map_err(|e| key_error(path, e.to_string()))?;
        for e in entries.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "json" || x == "jsonl") {
                files.push(p);
            }
        }
        files.sort();
    } else {
        files.push(path.to_path_buf());
    }
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).map_err(|e| key_error(&f, e.to_string()))?;
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let a: Anchor = serde_json::from_str(line)
                .map_err(|e| key_error(&f, format!("line {}: not an anchor: {e}", n + 1)))?;
            out.push(a);
        }
    }
    Ok(out)
}

/// Writes an anchor: into `<dir>/anchor-<id>.json` when `out` is a directory, else appended to
/// the file `out` (created if missing).
pub fn write_anchor(out: &Path, anchor: &Anchor) -> Result<(), AuditError> {
    use std::io::Write;
    let (path, append) = if out.is_dir() {
        (
            out.join(format!("anchor-{:012}.json", anchor.checkpoint_id)),
            false,
        )
    } else {
        (out.to_path_buf(), true)
    };
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(append)
        .write(true)
        .truncate(!append)
        .open(&path)
        .map_err(|e| key_error(&path, e.to_string()))?;
    writeln!(f, "{}", anchor.to_line()).map_err(|e| key_error(&path, e.to_string()))?;
    f.sync_all().map_err(|e| key_error(&path, e.to_string()))
}

/// Checks anchors against the database's checkpoint chain: each must be signed (by `trusted`
/// when given) and name a checkpoint the database still holds with that hash and time. With
/// the checkpoint chain and every stream recorded by a checkpoint verified by `verify`, an
/// anchored checkpoint that still matches means everything up to it is as it was anchored.
pub async fn check_anchors(
    db: &impl GenericClient,
    anchors: &[Anchor],
    trusted: Option<&VerifyingKey>,
) -> Result<Vec<Finding>, AuditError> {
    let mut findings = Vec::new();
    let finding = Finding::checkpoint;
    for a in anchors {
        if let Err(why) = a.check_signature(trusted) {
            findings.push(finding(
                a.checkpoint_id,
                format!("anchor of checkpoint {}: {why}", a.checkpoint_id),
            ));
            continue;
        }
        let row = db
            .query_opt(
                "SELECT hash, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') \
                 FROM audit_checkpoints WHERE id = $1",
                &[&a.checkpoint_id],
            )
            .await?;
        match row {
            None => findings.push(finding(
                a.checkpoint_id,
                format!(
                    "anchored checkpoint {} is missing from the database",
                    a.checkpoint_id
                ),
            )),
            Some(r) => {
                let hash: Vec<u8> = r.try_get(0)?;
                let created_at: String = r.try_get(1)?;
                if hex::encode(hash) != a.hash || created_at != a.created_at {
                    findings.push(finding(
                        a.checkpoint_id,
                        format!(
                            "checkpoint {} is not the one anchored (hash or time rewritten): the \
                             chain up to it was recomputed",
                            a.checkpoint_id
                        ),
                    ));
                }
            }
        }
    }
    Ok(findings)
}
