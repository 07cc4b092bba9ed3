//! A local PostgreSQL server that the project starts and stops itself.
//!
//! The dev service (`torghut serve` with no DSN) keeps a persistent cluster under `.torghut/`; every
//! test run gets a temporary one. Nothing here depends on a system cluster being up.
//!
//! * **Binaries** are found in this order: `TORGHUT_PG_BINDIR`, the `PATH` (a directory holding both
//!   `initdb` and `postgres`), `pg_config --bindir`, then the newest `/usr/lib/postgresql/*/bin`.
//! * **Root**: `initdb` and `postgres` refuse to run as root. When this process is root, the server
//!   runs as an unprivileged OS user (`TORGHUT_PG_OS_USER`, default `nobody`) that owns the data and
//!   socket directories. As any other user, the server runs as that user.
//! * **Connections**: the server listens on a Unix socket in a directory of its own (mode 0700) with
//!   `trust` authentication, and on a loopback TCP port only when asked, with `scram-sha-256` and a
//!   random superuser password kept in the cluster directory (mode 0600).
//! * **No process left behind**: the server is started under a small `sh` supervisor whose standard
//!   input is a pipe held by this process. When this process closes the pipe (on [`LocalPg::stop`],
//!   on drop, or because it exited or was killed, even with SIGKILL) the supervisor asks the server
//!   for a fast shutdown and waits for it; a temporary cluster's directory is then removed.

// No `unwrap` or `expect` outside tests: a panic must not be reachable from input or stored data.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

use std::ffi::{CString, OsStr, OsString};
use std::fmt;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

/// Name of the superuser created by `initdb`.
pub const SUPERUSER: &str = "postgres";

/// Errors of the local server launcher.
#[derive(Debug, thiserror::Error)]
pub enum LocalPgError {
    /// No PostgreSQL server binaries were found.
    #[error(
        "PostgreSQL server binaries (initdb, postgres) were not found on PATH, through `pg_config --bindir`, \
         or under /usr/lib/postgresql/*/bin. Install them (Debian/Ubuntu: `apt-get install postgresql`; \
         macOS: `brew install postgresql@15`) or set TORGHUT_PG_BINDIR to the directory holding them"
    )]
    BinariesNotFound,
    /// `TORGHUT_PG_BINDIR` points at a directory without the binaries.
    #[error("TORGHUT_PG_BINDIR={0} does not contain both `initdb` and `postgres`")]
    BadBindir(PathBuf),
    /// Running as root and the unprivileged OS user does not exist.
    #[error("running as root, the server must run as an unprivileged user, but OS user {0:?} does not exist; set TORGHUT_PG_OS_USER to an existing non-root user")]
    NoServerUser(String),
    /// The unprivileged server user cannot reach the directory.
    #[error("the server runs as OS user {user:?}, which cannot traverse {dir}; choose a data directory it can reach (for example under /tmp or /var/lib)")]
    Unreachable { user: String, dir: PathBuf },
    /// A filesystem operation failed.
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `initdb` failed.
    #[error("initdb failed ({status}): {output}")]
    Initdb { status: String, output: String },
    /// The server is already running on this data directory.
    #[error("a PostgreSQL server (pid {pid}) is already running on {data_dir}; stop it first or use its DSN")]
    AlreadyRunning { pid: i32, data_dir: PathBuf },
    /// The server did not become ready.
    #[error("the PostgreSQL server did not become ready: {reason}; last lines of its log ({log}):\n{tail}")]
    NotReady {
        reason: String,
        log: PathBuf,
        tail: String,
    },
    /// No free loopback port could be found.
    #[error("no free loopback TCP port: {0}")]
    NoFreePort(std::io::Error),
}

type Result<T> = std::result::Result<T, LocalPgError>;

fn io_err<'a>(
    what: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> LocalPgError + 'a {
    move |source| LocalPgError::Io {
        what,
        path: path.to_path_buf(),
        source,
    }
}

/// The directory holding `initdb`, `postgres` and friends.
#[derive(Debug, Clone)]
pub struct PgBinaries {
    bindir: PathBuf,
}

impl PgBinaries {
    /// Finds the binaries (see the crate documentation for the search order).
    pub fn find() -> Result<Self> {
        if let Some(dir) = std::env::var_os("TORGHUT_PG_BINDIR").filter(|d| !d.is_empty()) {
            let dir = PathBuf::from(dir);
            return if has_server_binaries(&dir) {
                Ok(Self { bindir: dir })
            } else {
                Err(LocalPgError::BadBindir(dir))
            };
        }
        if let Some(path) = std::env::var_os("PATH") {
            for dir in std::env::split_paths(&path) {
                if has_server_binaries(&dir) {
                    return Ok(Self { bindir: dir });
                }
            }
        }
        if let Ok(out) = Command::new("pg_config")
            .arg("--bindir")
            .stderr(Stdio::null())
            .output()
        {
            if out.status.success() {
                let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
                if has_server_binaries(&dir) {
                    return Ok(Self { bindir: dir });
                }
            }
        }
        if let Some(dir) = newest_debian_bindir(Path::new("/usr/lib/postgresql")) {
            return Ok(Self { bindir: dir });
        }
        Err(LocalPgError::BinariesNotFound)
    }

    /// The directory the binaries were found in.
    pub fn bindir(&self) -> &Path {
        &self.bindir
    }

    /// Full path of one binary.
    pub fn bin(&self, name: &str) -> PathBuf {
        self.bindir.join(name)
    }
}

fn has_server_binaries(dir: &Path) -> bool {
    is_executable(&dir.join("initdb")) && is_executable(&dir.join("postgres"))
}

fn is_executable(p: &Path) -> bool {
    fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// The newest `<root>/<version>/bin` holding the server binaries, by numeric version.
fn newest_debian_bindir(root: &Path) -> Option<PathBuf> {
    let mut best: Option<(Vec<u64>, PathBuf)> = None;
    for entry in fs::read_dir(root).ok()?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(version) = name
            .split('.')
            .map(|p| p.parse::<u64>().ok())
            .collect::<Option<Vec<_>>>()
        else {
            continue;
        };
        let bin = entry.path().join("bin");
        if has_server_binaries(&bin) && best.as_ref().is_none_or(|(v, _)| version > *v) {
            best = Some((version, bin));
        }
    }
    best.map(|(_, p)| p)
}

/// How a cluster is laid out and configured.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// Directory holding `data/`, `socket/`, `postgres.log` and `password`.
    pub base_dir: PathBuf,
    /// Remove `base_dir` once the server has stopped (temporary clusters).
    pub remove_on_stop: bool,
    /// Also listen on a loopback TCP port: `Some(0)` picks a free one.
    pub tcp_port: Option<u16>,
    /// Durable settings (fsync on). Off trades crash safety for speed: tests only.
    pub durable: bool,
    /// Extra `-c name=value` server settings.
    pub settings: Vec<(String, String)>,
}

impl ClusterOptions {
    /// A persistent, durable cluster in `base_dir` (the dev service's `.torghut/pg`).
    pub fn persistent(base_dir: impl Into<PathBuf>) -> Self {
        Self {
            base_dir: base_dir.into(),
            remove_on_stop: false,
            tcp_port: None,
            durable: true,
            settings: Vec::new(),
        }
    }

    /// A throw-away cluster in a new directory under the system temporary directory, tuned for tests
    /// (fsync off), removed when the server stops.
    pub fn temporary() -> Result<Self> {
        let tmp = std::env::temp_dir();
        let base_dir = unique_dir(&tmp, "torghut-pg")?;
        Ok(Self {
            base_dir,
            remove_on_stop: true,
            tcp_port: None,
            durable: false,
            settings: Vec::new(),
        })
    }
}

fn unique_dir(parent: &Path, prefix: &str) -> Result<PathBuf> {
    for _ in 0..16 {
        let p = parent.join(format!("{prefix}-{}-{}", std::process::id(), random_hex(6)));
        match fs::create_dir(&p) {
            Ok(()) => return Ok(p),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io_err("cannot create", &p)(e)),
        }
    }
    Err(LocalPgError::Io {
        what: "cannot create a unique directory in",
        path: parent.to_path_buf(),
        source: std::io::Error::other("too many collisions"),
    })
}

/// Hex of `n` random bytes from the OS.
pub fn random_hex(n: usize) -> String {
    let mut buf = vec![0u8; n];
    let filled = fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .is_ok();
    if !filled {
        // Extremely unlikely; fall back on time and pid so names still differ.
        let seed = Instant::now().elapsed().as_nanos() as u64
            ^ (std::process::id() as u64).rotate_left(32)
            ^ std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0);
        for (i, b) in buf.iter_mut().enumerate() {
            *b = (seed.rotate_left((i as u32 * 8) % 64) & 0xff) as u8;
        }
    }
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// The OS identity the server runs as.
#[derive(Debug, Clone)]
struct ServerUser {
    name: String,
    uid: u32,
    gid: u32,
    /// True when this process is root and must switch to `uid`/`gid` for the server.
    switch: bool,
}

impl ServerUser {
    fn resolve() -> Result<Self> {
        // SAFETY: geteuid has no preconditions.
        let euid = unsafe { libc::geteuid() };
        if euid != 0 {
            // SAFETY: getegid has no preconditions.
            let egid = unsafe { libc::getegid() };
            return Ok(Self {
                name: std::env::var("USER").unwrap_or_else(|_| euid.to_string()),
                uid: euid,
                gid: egid,
                switch: false,
            });
        }
        let name = std::env::var("TORGHUT_PG_OS_USER")
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "nobody".to_string());
        let (uid, gid) =
            lookup_user(&name).ok_or_else(|| LocalPgError::NoServerUser(name.clone()))?;
        if uid == 0 {
            return Err(LocalPgError::NoServerUser(name));
        }
        Ok(Self {
            name,
            uid,
            gid,
            switch: true,
        })
    }

    fn own(&self, path: &Path) -> Result<()> {
        if self.switch {
            std::os::unix::fs::chown(path, Some(self.uid), Some(self.gid))
                .map_err(io_err("cannot change the owner of", path))?;
        }
        Ok(())
    }

    fn apply(&self, cmd: &mut Command) {
        if self.switch {
            cmd.uid(self.uid).gid(self.gid);
        }
    }

    /// Checks that every ancestor of `dir` can be traversed by the server user.
    fn check_reachable(&self, dir: &Path) -> Result<()> {
        if !self.switch {
            return Ok(());
        }
        let mut cur = Some(dir);
        while let Some(p) = cur {
            if let Ok(meta) = fs::metadata(p) {
                let mode = meta.mode();
                let ok = if meta.uid() == self.uid {
                    mode & 0o100 != 0
                } else if meta.gid() == self.gid {
                    mode & 0o010 != 0
                } else {
                    mode & 0o001 != 0
                };
                if !ok {
                    return Err(LocalPgError::Unreachable {
                        user: self.name.clone(),
                        dir: p.to_path_buf(),
                    });
                }
            }
            cur = p.parent();
        }
        Ok(())
    }
}

fn lookup_user(name: &str) -> Option<(u32, u32)> {
    let cname = CString::new(name).ok()?;
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: all pointers are valid for the duration of the call; buf outlives pwd's string fields,
    // which are not used after this function.
    let rc = unsafe {
        libc::getpwnam_r(
            cname.as_ptr(),
            &mut pwd,
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        )
    };
    if rc != 0 || result.is_null() {
        return None;
    }
    Some((pwd.pw_uid, pwd.pw_gid))
}

/// The supervisor: runs the server in the background, waits for its own standard input to close,
/// then asks the server for a fast shutdown, waits for it and removes the cluster when asked.
const SUPERVISOR: &str = r#"
"$@" </dev/null >>"$TORGHUT_PG_LOG" 2>&1 &
pid=$!
echo "$pid" >"$TORGHUT_PG_PIDFILE"
cat >/dev/null
kill -INT "$pid" 2>/dev/null
wait "$pid"
if [ -n "$TORGHUT_PG_REMOVE" ]; then rm -rf "$TORGHUT_PG_REMOVE"; fi
"#;

/// A running local server.
pub struct LocalPg {
    options: ClusterOptions,
    supervisor: Option<Child>,
    stdin: Option<ChildStdin>,
    socket_dir: PathBuf,
    port: u16,
    password: String,
    server_pid: i32,
}

impl fmt::Debug for LocalPg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalPg")
            .field("base_dir", &self.options.base_dir)
            .field("socket_dir", &self.socket_dir)
            .field("port", &self.port)
            .field("tcp", &self.options.tcp_port.is_some())
            .field("server_pid", &self.server_pid)
            .field("password", &"***")
            .finish()
    }
}

impl LocalPg {
    /// Creates the cluster when it does not exist yet, then starts the server and waits until it
    /// accepts connections.
    pub fn start(options: ClusterOptions) -> Result<Self> {
        let bins = PgBinaries::find()?;
        let user = ServerUser::resolve()?;
        let base = &options.base_dir;
        fs::create_dir_all(base).map_err(io_err("cannot create", base))?;
        let base = fs::canonicalize(base).map_err(io_err("cannot resolve", base))?;
        user.check_reachable(&base)?;
        let data = base.join("data");
        let socket_dir = base.join("socket");
        let log = base.join("postgres.log");
        let pwfile = base.join("password");
        let pidfile = base.join("server.pid");
        if options.remove_on_stop {
            // The supervisor (as the server user) removes the cluster: it must own the directory.
            user.own(&base)?;
        }

        if !data.join("PG_VERSION").exists() {
            initdb(&bins, &user, &data, &pwfile, options.durable)?;
        } else if let Some(pid) = running_postmaster(&data) {
            return Err(LocalPgError::AlreadyRunning {
                pid,
                data_dir: data,
            });
        }
        let password = fs::read_to_string(&pwfile)
            .map_err(io_err("cannot read", &pwfile))?
            .trim()
            .to_string();

        fs::create_dir_all(&socket_dir).map_err(io_err("cannot create", &socket_dir))?;
        fs::set_permissions(&socket_dir, fs::Permissions::from_mode(0o700))
            .map_err(io_err("cannot set permissions on", &socket_dir))?;
        user.own(&socket_dir)?;
        for p in [&log, &pidfile] {
            fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .map_err(io_err("cannot create", p))?;
            user.own(p)?;
        }

        let port = match options.tcp_port {
            Some(0) => free_port()?,
            Some(p) => p,
            None => 5432,
        };
        let listen = if options.tcp_port.is_some() {
            "127.0.0.1"
        } else {
            ""
        };
        let mut args: Vec<OsString> = vec![
            bins.bin("postgres").into(),
            "-D".into(),
            data.clone().into(),
            "-k".into(),
            socket_dir.clone().into(),
            "-p".into(),
            port.to_string().into(),
            "-c".into(),
            format!("listen_addresses={listen}").into(),
            "-c".into(),
            "unix_socket_permissions=0700".into(),
        ];
        let mut settings: Vec<(String, String)> = vec![("max_connections".into(), "200".into())];
        if !options.durable {
            for (k, v) in [
                ("fsync", "off"),
                ("synchronous_commit", "off"),
                ("full_page_writes", "off"),
            ] {
                settings.push((k.into(), v.into()));
            }
        }
        settings.extend(options.settings.iter().cloned());
        for (k, v) in settings {
            args.push("-c".into());
            args.push(format!("{k}={v}").into());
        }

        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(SUPERVISOR)
            .arg("torghut-pg-supervisor")
            .args(&args)
            .env("TORGHUT_PG_LOG", &log)
            .env("TORGHUT_PG_PIDFILE", &pidfile)
            .env(
                "TORGHUT_PG_REMOVE",
                if options.remove_on_stop {
                    base.as_os_str()
                } else {
                    OsStr::new("")
                },
            )
            .env_remove("PGDATA")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .current_dir(&base);
        user.apply(&mut cmd);
        let mut child = cmd.spawn().map_err(io_err("cannot start sh for", &data))?;
        let stdin = child.stdin.take();
        let mut pg = LocalPg {
            options: ClusterOptions {
                base_dir: base.clone(),
                ..options
            },
            supervisor: Some(child),
            stdin,
            socket_dir,
            port,
            password,
            server_pid: 0,
        };
        pg.wait_ready(&data, &log, Duration::from_secs(60))?;
        tracing::debug!(data = %data.display(), port = pg.port, "local PostgreSQL started");
        Ok(pg)
    }

    fn wait_ready(&mut self, data: &Path, log: &Path, timeout: Duration) -> Result<()> {
        let started = Instant::now();
        let pid_path = data.join("postmaster.pid");
        loop {
            if let Some(child) = self.supervisor.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(LocalPgError::NotReady {
                        reason: format!("the server exited ({status})"),
                        log: log.to_path_buf(),
                        tail: tail(log),
                    });
                }
            }
            if let Ok(text) = fs::read_to_string(&pid_path) {
                let lines: Vec<&str> = text.lines().collect();
                // Line 8 of postmaster.pid is the server status; "ready" once it accepts connections.
                if lines.len() >= 8 && lines[7].trim() == "ready" {
                    self.server_pid = lines[0].trim().parse().unwrap_or(0);
                    return Ok(());
                }
            }
            if started.elapsed() > timeout {
                let t = tail(log);
                self.shutdown();
                return Err(LocalPgError::NotReady {
                    reason: format!("not ready after {timeout:?}"),
                    log: log.to_path_buf(),
                    tail: t,
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Directory of the server's Unix socket.
    pub fn socket_dir(&self) -> &Path {
        &self.socket_dir
    }

    /// The port number (TCP when enabled; otherwise only the socket file's name uses it).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The cluster's base directory.
    pub fn base_dir(&self) -> &Path {
        &self.options.base_dir
    }

    /// PID of the postmaster.
    pub fn server_pid(&self) -> i32 {
        self.server_pid
    }

    /// A libpq key=value DSN for `dbname` as the superuser over the Unix socket (no password needed).
    pub fn socket_dsn(&self, dbname: &str) -> String {
        format!(
            "host={} port={} user={} dbname={} sslmode=disable",
            libpq_quote(&self.socket_dir.to_string_lossy()),
            self.port,
            SUPERUSER,
            libpq_quote(dbname)
        )
    }

    /// A `postgresql://` URL for `dbname` over loopback TCP, with the superuser password, when the
    /// server listens on TCP. Treat it as a secret.
    pub fn tcp_url(&self, dbname: &str) -> Option<String> {
        self.options.tcp_port?;
        Some(format!(
            "postgresql://{}:{}@127.0.0.1:{}/{}?sslmode=disable",
            SUPERUSER, self.password, self.port, dbname
        ))
    }

    /// The superuser password (for TCP connections). Treat it as a secret.
    pub fn password(&self) -> &str {
        &self.password
    }

    /// Stops the server (fast shutdown) and waits for it; removes a temporary cluster.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        drop(self.stdin.take());
        if let Some(mut child) = self.supervisor.take() {
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                match child.try_wait() {
                    Ok(Some(_)) | Err(_) => break,
                    Ok(None) if Instant::now() > deadline => {
                        if self.server_pid > 0 {
                            // SAFETY: plain kill(2) on the postmaster pid we read at start.
                            unsafe {
                                libc::kill(self.server_pid, libc::SIGQUIT);
                            }
                        }
                        let _ = child.kill();
                        let _ = child.wait();
                        break;
                    }
                    Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        }
    }
}

impl Drop for LocalPg {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn initdb(
    bins: &PgBinaries,
    user: &ServerUser,
    data: &Path,
    pwfile: &Path,
    durable: bool,
) -> Result<()> {
    fs::create_dir_all(data).map_err(io_err("cannot create", data))?;
    fs::set_permissions(data, fs::Permissions::from_mode(0o700))
        .map_err(io_err("cannot set permissions on", data))?;
    user.own(data)?;
    {
        let mut f = fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .mode(0o600)
            .open(pwfile)
            .map_err(io_err("cannot create", pwfile))?;
        writeln!(f, "{}", random_hex(24)).map_err(io_err("cannot write", pwfile))?;
    }
    user.own(pwfile)?;
    let mut cmd = Command::new(bins.bin("initdb"));
    cmd.arg("-D")
        .arg(data)
        .arg("-U")
        .arg(SUPERUSER)
        .arg("--auth-local=trust")
        .arg("--auth-host=scram-sha-256")
        .arg(format!("--pwfile={}", pwfile.display()))
        .arg("--encoding=UTF8")
        .arg("--locale=C")
        .arg("--no-instructions")
        .env_remove("PGDATA")
        .stdin(Stdio::null());
    if durable {
        cmd.arg("--data-checksums");
    } else {
        cmd.arg("--no-sync");
    }
    user.apply(&mut cmd);
    let out = cmd
        .output()
        .map_err(io_err("cannot run initdb for", data))?;
    if !out.status.success() {
        let mut output = String::from_utf8_lossy(&out.stderr).into_owned();
        output.push_str(&String::from_utf8_lossy(&out.stdout));
        // A half-made cluster would block the next attempt.
        let _ = fs::remove_dir_all(data);
        return Err(LocalPgError::Initdb {
            status: out.status.to_string(),
            output,
        });
    }
    Ok(())
}

use std::os::unix::fs::OpenOptionsExt;

/// PID of a live postmaster on `data`, if any.
fn running_postmaster(data: &Path) -> Option<i32> {
    let text = fs::read_to_string(data.join("postmaster.pid")).ok()?;
    let pid: i32 = text.lines().next()?.trim().parse().ok()?;
    // SAFETY: signal 0 only checks that the process exists.
    let alive = unsafe { libc::kill(pid, 0) } == 0
        || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    alive.then_some(pid)
}

fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind(("127.0.0.1", 0)).map_err(LocalPgError::NoFreePort)?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(LocalPgError::NoFreePort)
}

fn tail(log: &Path) -> String {
    let text = fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

/// Quotes a value for a libpq key=value string.
pub fn libpq_quote(v: &str) -> String {
    if !v.is_empty() && !v.contains([' ', '\'', '\\', '\t', '\n']) {
        return v.to_string();
    }
    let mut s = String::with_capacity(v.len() + 2);
    s.push('\'');
    for c in v.chars() {
        if c == '\'' || c == '\\' {
            s.push('\\');
        }
        s.push(c);
    }
    s.push('\'');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_bindir_prefers_highest_numeric_version() {
        let root = std::env::temp_dir().join(format!("torghut-bindir-test-{}", random_hex(4)));
        for v in ["9.6", "15", "13", "notaversion"] {
            let bin = root.join(v).join("bin");
            fs::create_dir_all(&bin).unwrap();
            for b in ["initdb", "postgres"] {
                let p = bin.join(b);
                fs::write(&p, "#!/bin/sh\n").unwrap();
                fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
            }
        }
        assert_eq!(
            newest_debian_bindir(&root),
            Some(root.join("15").join("bin"))
        );
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn libpq_quoting() {
        assert_eq!(libpq_quote("/tmp/x"), "/tmp/x");
        assert_eq!(libpq_quote("a b"), "'a b'");
        assert_eq!(libpq_quote("it's"), r"'it\'s'");
        assert_eq!(libpq_quote(""), "''");
    }
}
