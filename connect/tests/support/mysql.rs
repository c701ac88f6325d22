//! A throwaway MariaDB server for the JDBC tests: `mariadb-install-db` into a
//! temp dir, `mariadbd` on loopback and a free port with `--skip-grant-tables`
//! (any user, no password), durability settings off. Binaries from Debian's
//! `mariadb-server` (`scripts/install-test-databases.sh` installs it).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use super::{free_port, is_root};
use std::time::{Duration, Instant};

use sqlx::mysql::MySqlPoolOptions;
use sqlx::MySqlPool;

pub struct MariaDb {
    dir: tempfile::TempDir,
    pub port: u16,
    child: Option<Child>,
}

fn find(names: &[&str]) -> PathBuf {
    for n in names {
        for dir in ["/usr/sbin", "/usr/bin", "/usr/local/bin"] {
            let p = PathBuf::from(dir).join(n);
            if p.exists() {
                return p;
            }
        }
    }
    panic!("{names:?} not found: run scripts/install-test-databases.sh")
}

impl MariaDb {
    pub fn start() -> MariaDb {
        let dir = tempfile::Builder::new()
            .prefix("strom-mariadb-")
            .tempdir()
            .expect("temp dir");
        let data = dir.path().join("data");
        let mut install = Command::new(find(&["mariadb-install-db", "mysql_install_db"]));
        install
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .args(["--skip-test-db", "--auth-root-authentication-method=normal"]);
        if is_root() {
            install.arg("--user=root");
        }
        let out = install.output().expect("mariadb-install-db runs");
        assert!(
            out.status.success(),
            "mariadb-install-db failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("server.log")).ok();
        let mut server = Command::new(find(&["mariadbd", "mysqld"]));
        server
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!(
                "--socket={}",
                dir.path().join("mysqld.sock").display()
            ))
            .arg(format!(
                "--pid-file={}",
                dir.path().join("mysqld.pid").display()
            ))
            .arg(format!("--port={port}"))
            .args([
                "--bind-address=127.0.0.1",
                "--skip-grant-tables",
                "--skip-log-bin",
                "--innodb-flush-log-at-trx-commit=0",
                "--innodb-doublewrite=0",
            ]);
        if is_root() {
            server.arg("--user=root");
        }
        let child = server
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log.map(Stdio::from).unwrap_or(Stdio::null()))
            .spawn()
            .expect("mariadbd starts");
        let db = MariaDb {
            dir,
            port,
            child: Some(child),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "MariaDB did not start: {}",
                db.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        db
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// The JDBC URL of database `db`.
    pub fn jdbc_url(&self, db: &str) -> String {
        format!(
            "jdbc:mysql://127.0.0.1:{}/{db}?user=root&useSSL=false",
            self.port
        )
    }

    /// Create database `db` and return a pool on it.
    pub async fn database(&self, db: &str) -> MySqlPool {
        let url = format!("mysql://root@127.0.0.1:{}", self.port);
        let deadline = Instant::now() + Duration::from_secs(60);
        let admin = loop {
            match MySqlPoolOptions::new()
                .max_connections(1)
                .connect(&url)
                .await
            {
                Ok(p) => break p,
                Err(e) if Instant::now() < deadline => {
                    tracing::debug!(error = %e, "waiting for MariaDB");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("connecting to MariaDB: {e}\n{}", self.log()),
            }
        };
        sqlx::query(&format!("CREATE DATABASE `{db}`"))
            .execute(&admin)
            .await
            .expect("CREATE DATABASE");
        admin.close().await;
        MySqlPoolOptions::new()
            .max_connections(2)
            .connect(&format!("{url}/{db}"))
            .await
            .expect("MariaDB pool")
    }
}

impl Drop for MariaDb {
    fn drop(&mut self) {
        if let Some(child) = self.child.take() {
            super::stop_child(child, "-TERM");
        }
    }
}
