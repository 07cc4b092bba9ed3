//! The command line: every flag and environment variable is declared here.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Torghut trading and audit store.
///
/// Database: `--dsn`, else the first set of DB_DSN, DB_URL, DATABASE_URL. Accepted forms:
/// postgres:// and postgresql:// URLs, SQLAlchemy URLs (postgresql+psycopg://, +psycopg2, +asyncpg),
/// libpq key=value strings, and the `uri` of a CloudNativePG app secret. TLS through `sslmode`
/// (disable, prefer, require, verify-ca, verify-full) and `sslrootcert`. A DSN is only ever shown
/// with its password replaced by ***.
///
/// Exit codes: 0 success; 1 a check failed (pending, dirty, drift, lint, a failed migration);
/// 2 usage, configuration or connection error.
#[derive(Debug, Parser)]
#[command(name = "torghut", version, max_term_width = 100)]
pub struct Cli {
    /// Log format on stderr (log level from TORGHUT_LOG, e.g. `info`, default `warn`).
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "text",
        env = "TORGHUT_LOG_FORMAT"
    )]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

/// Log output format.
#[derive(Debug, Clone, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP service. With no DSN and APP_ENV=dev, starts a local PostgreSQL under
    /// `.torghut/` and applies migrations first.
    Serve(ServeArgs),
    /// Inspect and change the database schema (status, plan, up, down, verify, adopt, repair, lint).
    Migrate(MigrateArgs),
    /// Read decisions as JSON Lines on stdin and print one decision hash (lower-case hex) per line.
    /// A line that cannot be read is reported on stderr by line number and field; the others are
    /// still hashed, and the exit code is then 1.
    DecisionHash,
    /// Measure the write path against a migrated database (writes real rows: use a scratch
    /// database).
    Bench(BenchArgs),
    /// Audit integrity: verify the hash chains, take checkpoints, archive old rows.
    Audit(AuditArgs),
    /// The dev service's local PostgreSQL (started by `torghut serve` in dev).
    Dev(DevArgs),
}

#[derive(Debug, Args)]
pub struct DevArgs {
    #[command(subcommand)]
    pub command: DevCommand,
}

#[derive(Debug, Subcommand)]
pub enum DevCommand {
    /// Print `export DB_DSN=...` for the running dev PostgreSQL, so that every other command
    /// (`torghut migrate status`, `torghut audit verify`, ...) uses it: `eval "$(torghut dev env)"`.
    /// Exit 2 when no dev server is running under the data directory.
    Env {
        /// Where the dev service keeps its local PostgreSQL (as `serve --data-dir`).
        #[arg(long, default_value = ".torghut", env = "TORGHUT_DATA_DIR")]
        data_dir: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub command: AuditCommand,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute every audit row's hash chain, the stream heads, the writer lanes (every stream
    /// ever created, so that a whole stream deleted is named), the checkpoints and the
    /// current-state rows against their events; name every modified, deleted, reordered or
    /// out-of-band inserted row by table and id. Exit 1 when anything does not verify.
    Verify(AuditVerifyArgs),
    /// Take a checkpoint: chain the current head of every stream and writer lane that moved
    /// since the last one, so that a later rewrite of anything up to it (hashes recomputed
    /// included, against its anchor) is detected. Prints the checkpoint's hash (keep it outside
    /// the database). Exit 1 when refused because a stream got shorter since an earlier
    /// checkpoint.
    Checkpoint(AuditCheckpointArgs),
    /// Governed retention: export every stream (a decision with its events, reviews and
    /// executions; an execution without a decision) whose rows are all older than --before to
    /// DIR (JSON Lines per table and manifest.json with SHA-256 digests), read the archive back
    /// and check it against the live chain, then delete exactly those streams through the one
    /// function allowed to, which takes an archive checkpoint and records the governance log
    /// row. Run as the owner role. Exit 1 when the archive does not verify (nothing deleted).
    Archive(AuditArchiveArgs),
    /// Make an Ed25519 key for signing anchors: writes the secret seed (64 hex characters) to
    /// FILE (mode 0600; never overwritten) and prints the public key. Keep the secret out of
    /// the database's reach (e.g. a Kubernetes secret mounted into the checkpoint CronJob only).
    Keygen {
        /// Where to write the secret key.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct AuditArchiveArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Cut-off: YYYY-MM-DD (midnight UTC) or an RFC 3339 date-time; must not be in the future.
    #[arg(long, value_name = "DATE")]
    pub before: String,
    /// Why; recorded in the governance log and the manifest.
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
    /// Who approved the archival; recorded in the governance log and the manifest.
    #[arg(long, value_name = "NAME")]
    pub approved_by: String,
    /// Directory to write the archive to (created; must be empty). Default:
    /// audit-archive-<DATE>-<now>.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub output: Output,
}

#[derive(Debug, Args)]
pub struct AuditVerifyArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Verify this archive directory against the governance log and its archive checkpoint
    /// (instead of the live chain).
    #[arg(long, value_name = "DIR")]
    pub archive: Option<PathBuf>,
    /// Anchors kept outside the database (a file of JSON lines or a directory of them, as
    /// written by `audit checkpoint --anchor-out`): each must be signed and name a checkpoint the
    /// database still holds unchanged, so that a chain rewritten and recomputed is found.
    #[arg(long, value_name = "PATH")]
    pub anchors: Option<PathBuf>,
    /// The public key anchors must be signed with (64 hex characters, or a file holding them).
    /// Without it, each anchor's own key is used (which only proves the line was not altered).
    #[arg(long, value_name = "KEY", requires = "anchors")]
    pub public_key: Option<String>,
    /// Verify only what changed since the latest checkpoint that still verifies: the streams
    /// whose head moved since and the roots created since the checkpoint before it, each whole,
    /// and the writer lanes that moved, from their checkpointed place on.
    /// Streams that did not change are not read (a run without this flag verifies them).
    #[arg(long, conflicts_with = "archive")]
    pub since_checkpoint: bool,
    /// Read on this many connections side by side (each stream kind is cut into ranges of
    /// stream ids; all of them read one snapshot). `--since-checkpoint` reads on one.
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
    #[command(flatten)]
    pub out: Output,
}

#[derive(Debug, Args)]
pub struct AuditCheckpointArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Sign the checkpoint with this Ed25519 secret key (see `audit keygen`) and print the
    /// anchor as one JSON line: the checkpoint's id, hash and time, signed.
    #[arg(long, value_name = "FILE")]
    pub signing_key: Option<PathBuf>,
    /// Also append the anchor to this file, or write it into this directory
    /// (`anchor-<id>.json`).
    #[arg(long, value_name = "PATH", requires = "signing_key")]
    pub anchor_out: Option<PathBuf>,
    /// Compare every stream with the last head a checkpoint recorded for it (and refuse when a
    /// recorded stream is missing), instead of reading only the streams that moved. Reads
    /// every stream.
    #[arg(long)]
    pub full: bool,
    /// At most this many moved stream heads per checkpoint: more are recorded by further
    /// checkpoints taken at once, each its own short transaction (writers of a stream being
    /// recorded wait for it).
    #[arg(long, value_name = "N", default_value_t = 50_000, value_parser = clap::value_parser!(i64).range(1..))]
    pub max_heads: i64,
    #[command(flatten)]
    pub out: Output,
}

/// Database connection flag shared by commands.
#[derive(Debug, Args, Clone)]
pub struct DbArgs {
    /// PostgreSQL DSN. Defaults to the first set of DB_DSN, DB_URL, DATABASE_URL.
    #[arg(long, global = true, value_name = "DSN", hide_env_values = true)]
    pub dsn: Option<String>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8181", env = "TORGHUT_BIND")]
    pub bind: String,
    /// Directory of the local PostgreSQL used when no DSN is given in dev.
    #[arg(long, default_value = ".torghut", env = "TORGHUT_DATA_DIR")]
    pub data_dir: PathBuf,
    /// Largest number of database connections.
    #[arg(long, default_value_t = 16, env = "TORGHUT_POOL_SIZE", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub pool_size: u32,
    /// How long a request waits for a database connection before it is answered 503.
    #[arg(long, default_value = "2s", value_parser = parse_duration, env = "TORGHUT_POOL_WAIT")]
    pub pool_wait: Duration,
    /// Largest request body in bytes (larger bodies are answered 413, at once when the request's
    /// Content-Length announces one).
    #[arg(long, default_value_t = 1_048_576, env = "TORGHUT_MAX_BODY", value_parser = clap::value_parser!(u64).range(1024..=67_108_864))]
    pub max_body: u64,
    /// How long a client may take to send a request's headers (from the connection, or from the
    /// end of its previous request); a client that stalls is disconnected.
    #[arg(long, default_value = "10s", value_parser = parse_duration, env = "TORGHUT_HEADER_TIMEOUT")]
    pub header_timeout: Duration,
    /// How long reading a request body may take; a client that stalls is answered 408 and its
    /// connection freed.
    #[arg(long, default_value = "10s", value_parser = parse_duration, env = "TORGHUT_BODY_TIMEOUT")]
    pub body_timeout: Duration,
    /// After SIGTERM or Ctrl-C, how long in-flight requests may finish before the remaining
    /// connections are closed and the service exits.
    #[arg(long, default_value = "30s", value_parser = parse_duration, env = "TORGHUT_SHUTDOWN_GRACE")]
    pub shutdown_grace: Duration,
    /// How often readiness re-reads the schema history.
    #[arg(long, default_value = "5s", value_parser = parse_duration, env = "TORGHUT_READINESS_INTERVAL")]
    pub readiness_interval: Duration,
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// How long to wait for another migration run's lock before giving up (e.g. 60s, 2m, 500ms).
    #[arg(long, global = true, default_value = "60s", value_parser = parse_duration, env = "TORGHUT_LOCK_WAIT")]
    pub lock_wait: Duration,
    /// `lock_timeout` for every migration statement, so a migration never queues behind a long
    /// transaction; keep it below the server's deadlock_timeout (1s by default), so that a
    /// migration gives up its lock wait before a writer queued behind it could be chosen as a
    /// deadlock victim.
    #[arg(long, global = true, default_value = "500ms", value_parser = parse_duration, env = "TORGHUT_LOCK_TIMEOUT")]
    pub lock_timeout: Duration,
    /// `statement_timeout` for every migration statement.
    #[arg(long, global = true, default_value = "10m", value_parser = parse_duration, env = "TORGHUT_STATEMENT_TIMEOUT")]
    pub statement_timeout: Duration,
    /// How many times a migration is retried after hitting lock_timeout (or a deadlock).
    #[arg(
        long,
        global = true,
        default_value_t = 10,
        env = "TORGHUT_LOCK_RETRIES"
    )]
    pub lock_retries: u32,
    /// How long one batch of a backfill migration should take: each batch is one transaction,
    /// resized after each to come close to this (short batches keep writers' waits short).
    #[arg(long, global = true, default_value = "200ms", value_parser = parse_duration, env = "TORGHUT_BACKFILL_BATCH_TIME")]
    pub backfill_batch_time: Duration,
    /// Pause after each backfill batch, as a fraction of the batch's duration (0 runs batches
    /// back to back; 1 leaves the database idle half of the time).
    #[arg(long, global = true, default_value_t = 0.1, value_parser = parse_throttle, env = "TORGHUT_BACKFILL_THROTTLE")]
    pub backfill_throttle: f64,
    /// How many steps of a backfill migration may run side by side, each on a connection of its
    /// own (1: one after the other).
    #[arg(long, global = true, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=16), env = "TORGHUT_BACKFILL_WORKERS")]
    pub backfill_workers: u16,
    /// Read migrations from this directory instead of the ones built into the binary
    /// (development and tests).
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        env = "TORGHUT_MIGRATIONS_DIR"
    )]
    pub source: Option<PathBuf>,
    #[command(subcommand)]
    pub command: MigrateCommand,
}

/// Output format flag shared by reporting commands.
#[derive(Debug, Args, Clone, Copy)]
pub struct Output {
    /// Print one JSON object on stdout instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum MigrateCommand {
    /// Applied, pending, dirty and edited migrations. Exit 1 unless clean.
    Status(Output),
    /// Print the exact SQL that `up` would run. Changes nothing.
    Plan {
        /// Stop at this migration (a full id such as 0005_trade_cursor_symbol).
        #[arg(long, value_name = "ID")]
        to: Option<String>,
        #[command(flatten)]
        out: Output,
    },
    /// Apply pending migrations, each in one transaction with its history row.
    ///
    /// Backfill migrations (`-- torghut:backfill`) walk their tables in short batches, each
    /// committed with its progress: progress is shown as it goes (on stderr, or as JSON lines on
    /// stdout with --json), a run that is stopped carries on from its last batch when run again,
    /// and `up` returns once everything, backfills included, is applied.
    Up {
        /// Stop at this migration (a full id such as 0005_trade_cursor_symbol).
        #[arg(long, value_name = "ID")]
        to: Option<String>,
        #[command(flatten)]
        out: Output,
    },
    /// Revert applied migrations newer than ID (`base` reverts all). With APP_ENV=prod it needs
    /// --allow-destructive and --reason. Recorded in the run log.
    Down {
        /// The migration to return to (it stays applied), or `base`.
        #[arg(long, value_name = "ID")]
        to: String,
        /// Required with APP_ENV=prod: acknowledges that reverting can destroy data.
        #[arg(long)]
        allow_destructive: bool,
        /// Why; recorded in the run log (required with APP_ENV=prod).
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
        #[command(flatten)]
        out: Output,
    },
    /// Check applied checksums against the files and the live catalog against the one expected at
    /// the current revision. Exit 1 on drift; tables the migrations do not manage are listed.
    Verify(Output),
    /// The run log: every up, down, adopt and repair, with when, who (database user @ host),
    /// outcome, reason and details, oldest first. Changes nothing.
    Log {
        /// Only the last N entries (0: all of them).
        #[arg(long, value_name = "N", default_value_t = 50)]
        last: u32,
        #[command(flatten)]
        out: Output,
    },
    /// Take over a database built by the old service's Alembic chain: check its schema against the
    /// one expected at its alembic_version, then record those migrations as applied. Refused, with
    /// the diff, when the schema does not match. alembic_version is left untouched.
    Adopt {
        /// Why; recorded in the run log.
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
        #[command(flatten)]
        out: Output,
    },
    /// After a person has checked the database: resolve a dirty migration, or accept the new
    /// checksum of an edited applied migration. Recorded with the reason.
    Repair {
        /// The dirty migration's remaining statements were completed by hand: mark it applied.
        #[arg(long, group = "repair_action")]
        mark_applied: bool,
        /// The dirty migration's partial effects were undone by hand: forget it.
        #[arg(long, group = "repair_action")]
        mark_rolled_back: bool,
        /// Record the file's current checksum for this applied migration.
        #[arg(long, value_name = "ID", group = "repair_action")]
        accept_checksum: Option<String>,
        /// What was checked; required and recorded.
        #[arg(long, value_name = "TEXT", required = true)]
        reason: String,
        #[command(flatten)]
        out: Output,
    },
    /// Production-safety lint of migration files (default: every migration after 0005).
    ///
    /// Checks each `up.sql` as it will run: in one transaction, unless it has a line
    /// `-- torghut:no-transaction`. Errors: squawk's rules for statements that lock or rewrite
    /// a table writers use, or that break clients (indexes built without `CONCURRENTLY`,
    /// constraints added without `NOT VALID`, column type changes, dropped or renamed columns
    /// and tables, ...), and this project's own: `CREATE INDEX CONCURRENTLY` and other
    /// statements PostgreSQL refuses inside a transaction, `UPDATE`, `DELETE`, `MERGE` and
    /// `TRUNCATE` outside a batched backfill (`-- torghut:backfill`), and `CLUSTER`, `VACUUM
    /// FULL` and `ALTER TABLE ... SET LOGGED/UNLOGGED/TABLESPACE` anywhere.
    ///
    /// A finding is accepted, on purpose, by a comment on the line before the statement:
    /// `-- torghut-lint: allow <rule>[, <rule>...] reason: <text>` (the reason is required and
    /// printed). Exit code 1 when any error is left, 2 when a file cannot be read.
    Lint {
        /// SQL files to lint instead of the migrations.
        files: Vec<PathBuf>,
        #[command(flatten)]
        out: Output,
    },
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub command: BenchCommand,
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Write decision trails (a decision, its review and its execution, durably) from concurrent
    /// connections for a fixed time, under a new strategy named `bench-...`; report trails per
    /// second and latency. The database must be migrated to at least 0003_llm_decision_reviews.
    /// Exit 1 when no trail was written.
    Write(BenchWriteArgs),
}

#[derive(Debug, Args)]
pub struct BenchWriteArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Concurrent connections, each writing in a loop.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub clients: u32,
    /// How long to write, in seconds.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=86_400))]
    pub seconds: u32,
    #[command(flatten)]
    pub out: Output,
}

/// Parses `500ms`, `5s`, `2m`, `1h`, or a bare number of seconds.
fn parse_throttle(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && (0.0..=100.0).contains(&v) => Ok(v),
        _ => Err(format!("expected a number from 0 to 100, got {s:?}")),
    }
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => (&s[..i], s[i..].trim()),
        None => (s, "s"),
    };
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration (examples: 500ms, 5s, 2m)"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" | "sec" => n,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (use ms, s, m or h)")),
    };
    if !secs.is_finite() || !(0.0..=86_400.0 * 7.0).contains(&secs) {
        return Err(format!("{s:?} is out of range"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Runs the parsed command and returns the process exit code.
pub async fn run(cli: Cli) -> u8 {
    match cli.command {
        Command::Migrate(args) => crate::migrate_cmd::run(args).await,
        Command::DecisionHash => crate::hash_cmd::run(),
        Command::Serve(args) => crate::serve::run(args).await,
        Command::Bench(args) => crate::bench_cmd::run(args).await,
        Command::Audit(args) => crate::audit_cmd::run(args).await,
        Command::Dev(args) => crate::dev_cmd::run(args),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("60").unwrap(), Duration::from_secs(60));
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("1e9h").is_err());
    }

    #[test]
    fn cli_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
