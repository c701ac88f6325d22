//! A throwaway PostgreSQL server for the JDBC tests: `initdb` into a temp
//! dir, `postgres` on loopback and a free port, trust auth, fsync off.
//! The binaries come from `STROM_PG_BINDIR` or `/usr/lib/postgresql/*/bin`
//! (`scripts/install-test-databases.sh` installs them). As root, the server runs as
//! the `postgres` user (PostgreSQL refuses to run as root).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use super::{free_port, is_root};
use std::time::{Duration, Instant};

use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;

pub struct Postgres {
    _dir: tempfile::TempDir,
    data: PathBuf,
    bindir: PathBuf,
    pub port: u16,
    child: Option<Child>,
}

fn bindir() -> PathBuf {
    if let Ok(d) = std::env::var("STROM_PG_BINDIR") {
        return PathBuf::from(d);
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path().join("bin"))
                .filter(|b| b.join("initdb").exists())
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found.pop().unwrap_or_else(|| {
        panic!("PostgreSQL's initdb was not found: run scripts/install-test-databases.sh (or set STROM_PG_BINDIR)")
    })
}

/// A command for a PostgreSQL binary, run as `postgres` when we are root.
fn pg_command(bindir: &Path, bin: &str) -> Command {
    if is_root() {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=postgres", "--regid=postgres", "--init-groups"])
            .arg(bindir.join(bin));
        c
    } else {
        Command::new(bindir.join(bin))
    }
}

impl Postgres {
    pub fn start() -> Postgres {
        let bindir = bindir();
        let dir = tempfile::Builder::new()
            .prefix("strom-pg-")
            .tempdir()
            .expect("temp dir");
        let data = dir.path().join("data");
        if is_root() {
            let status = Command::new("chown")
                .args(["postgres:postgres"])
                .arg(dir.path())
                .status()
                .expect("chown");
            assert!(status.success(), "chown of the PostgreSQL dir");
        }
        let out = pg_command(&bindir, "initdb")
            .args([
                "-U",
                "strom",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
                "-D",
            ])
            .arg(&data)
            .output()
            .expect("initdb runs");
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut pg = Postgres {
            _dir: dir,
            data,
            bindir,
            port: free_port(),
            child: None,
        };
        pg.resume();
        pg
    }

    /// (Re)start the server on the same port and data.
    pub fn resume(&mut self) {
        assert!(self.child.is_none(), "already running");
        let log = std::fs::File::create(self.data.with_file_name("server.log")).ok();
        let child = pg_command(&self.bindir, "postgres")
            .arg("-D")
            .arg(&self.data)
            .args(["-p", &self.port.to_string()])
            .args(["-c", "listen_addresses=127.0.0.1"])
            .arg("-c")
            .arg(format!(
                "unix_socket_directories={}",
                self.data.parent().unwrap().display()
            ))
            .args(["-c", "fsync=off", "-c", "full_page_writes=off"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log.map(Stdio::from).unwrap_or(Stdio::null()))
            .spawn()
            .expect("postgres starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "PostgreSQL did not start: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stop the server (fast shutdown: clients are disconnected).
    pub fn stop(&mut self) {
        if let Some(child) = self.child.take() {
            super::stop_child(child, "-INT");
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data.with_file_name("server.log")).unwrap_or_default()
    }

    /// The JDBC URL of database `db`.
    pub fn jdbc_url(&self, db: &str) -> String {
        format!("jdbc:postgresql://127.0.0.1:{}/{db}?user=strom", self.port)
    }

    /// A pool for the test's own statements, on database `db`.
    pub async fn pool(&self, db: &str) -> PgPool {
        let url = format!("postgres://strom@127.0.0.1:{}/{db}", self.port);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match PgPoolOptions::new().max_connections(2).connect(&url).await {
                Ok(p) => return p,
                Err(e) if Instant::now() < deadline => {
                    tracing::debug!(error = %e, "waiting for PostgreSQL");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("connecting to PostgreSQL: {e}\n{}", self.log()),
            }
        }
    }

    /// Create database `db` and return a pool on it.
    pub async fn database(&self, db: &str) -> PgPool {
        let admin = self.pool("postgres").await;
        sqlx::query(&format!("CREATE DATABASE \"{db}\""))
            .execute(&admin)
            .await
            .expect("CREATE DATABASE");
        admin.close().await;
        self.pool(db).await
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop();
    }
}
