//! `torghut dev env`: the connection to the dev service's local PostgreSQL, read from the
//! server's own `postmaster.pid` (its port and socket directory), for every other command.

use std::path::{Path, PathBuf};

use crate::cli::{DevArgs, DevCommand};

/// Runs one dev command and returns the exit code.
pub fn run(args: DevArgs) -> u8 {
    match args.command {
        DevCommand::Env { data_dir } => match running(&data_dir) {
            Ok(dev) => {
                println!("export DB_DSN='{}'", dev.dsn());
                0
            }
            Err(message) => crate::failure::Failure::config(message).report(false),
        },
    }
}

/// A running dev server: where its socket is and its port.
pub struct DevServer {
    pub socket_dir: PathBuf,
    pub port: u16,
}

impl DevServer {
    /// libpq key=value DSN over the Unix socket, as the superuser (trust on the socket).
    pub fn dsn(&self) -> String {
        format!(
            "host={} port={} user={} dbname=postgres sslmode=disable",
            self.socket_dir.display(),
            self.port,
            torghut_localpg::SUPERUSER
        )
    }

    /// A ready-to-paste `psql` command.
    pub fn psql(&self) -> String {
        format!("psql '{}'", self.dsn())
    }
}

/// Reads `<data_dir>/pg/data/postmaster.pid` (line 4: the port; line 5: the socket directory)
/// and checks that the socket is there.
pub fn running(data_dir: &Path) -> Result<DevServer, String> {
    let pid_file = data_dir.join("pg").join("data").join("postmaster.pid");
    let text = std::fs::read_to_string(&pid_file).map_err(|_| {
        format!(
            "no dev PostgreSQL is running under {} (start it with `torghut serve`)",
            data_dir.display()
        )
    })?;
    let lines: Vec<&str> = text.lines().collect();
    let port = lines
        .get(3)
        .and_then(|l| l.trim().parse::<u16>().ok())
        .ok_or_else(|| format!("{}: no port on line 4", pid_file.display()))?;
    let socket_dir = lines
        .get(4)
        .map(|l| PathBuf::from(l.trim()))
        .filter(|p| !p.as_os_str().is_empty())
        .ok_or_else(|| format!("{}: no socket directory on line 5", pid_file.display()))?;
    if !socket_dir.join(format!(".s.PGSQL.{port}")).exists() {
        return Err(format!(
            "the dev PostgreSQL under {} is not accepting connections (no socket in {})",
            data_dir.display(),
            socket_dir.display()
        ));
    }
    Ok(DevServer { socket_dir, port })
}
