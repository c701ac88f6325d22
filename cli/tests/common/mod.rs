//! The harness the `strom` integration tests share: a broker started in this
//! process on port 0, and running the `strom` binary with a deadline.

// Each test file uses only part of this.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use strom_broker::{BrokerConfig, RunningBroker};

/// How long one `strom` invocation may take before the test fails.
pub const COMMAND_DEADLINE: Duration = Duration::from_secs(60);

/// A broker running in this test process, on its own runtime.
pub struct Broker {
    runtime: tokio::runtime::Runtime,
    broker: Option<RunningBroker>,
    pub bootstrap: String,
    _dir: tempfile::TempDir,
}

impl Broker {
    pub fn start() -> Broker {
        Broker::start_with(&[])
    }

    /// Start with these broker properties set on top of the local defaults.
    pub fn start_with(props: &[(&str, &str)]) -> Broker {
        let dir = tempfile::tempdir().expect("tempdir");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let mut config = BrokerConfig::local(dir.path(), 0);
        for (k, v) in props {
            config.props.insert((*k).into(), (*v).into());
        }
        let broker = runtime
            .block_on(strom_broker::start(config))
            .expect("broker starts");
        let bootstrap = broker.bootstrap_servers();
        Broker {
            runtime,
            broker: Some(broker),
            bootstrap,
            _dir: dir,
        }
    }

    /// Run `strom ARGS -b BOOTSTRAP`.
    pub fn strom(&self, args: &[&str], stdin: &[u8]) -> Output {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["-b", &self.bootstrap]);
        strom(&all, stdin)
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(broker) = self.broker.take() {
            let result = self.runtime.block_on(broker.shutdown());
            if !thread::panicking() {
                result.expect("broker shuts down cleanly");
            }
        }
    }
}

/// What a finished `strom` run left behind.
pub struct Output {
    pub args: String,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn success(self) -> Output {
        assert!(
            self.status.success(),
            "`strom {}` failed ({}):\nstdout:\n{}\nstderr:\n{}",
            self.args,
            self.status,
            self.stdout,
            self.stderr
        );
        self
    }

    pub fn failure(self) -> Output {
        assert!(
            !self.status.success(),
            "`strom {}` should have failed:\nstdout:\n{}\nstderr:\n{}",
            self.args,
            self.stdout,
            self.stderr
        );
        self
    }
}

/// The `strom` binary, without a bootstrap server from the environment.
pub fn strom_command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_strom"));
    command.env_remove("STROM_BOOTSTRAP_SERVER");
    command.env("RUST_LOG", "warn");
    command
}

/// Read a pipe to its end on a thread.
pub fn drain(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Wait for `child` to exit, killing it (and failing) after `deadline`.
pub fn wait_with_deadline(child: Child, deadline: Duration, what: &str) -> ExitStatus {
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    let mut child = child;
    thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    match rx.recv_timeout(deadline) {
        Ok(status) => status.expect("wait for strom"),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("`{what}` did not finish within {deadline:?}");
        }
    }
}

/// Run `strom ARGS` with `stdin` as its input, to completion (with a deadline).
pub fn strom(args: &[&str], stdin: &[u8]) -> Output {
    let shown = args.join(" ");
    let mut child = strom_command()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn strom");
    let mut input = child.stdin.take().expect("stdin");
    let stdin = stdin.to_vec();
    let writer = thread::spawn(move || {
        let _ = input.write_all(&stdin);
        // Dropping `input` closes the pipe: end of input.
    });
    let stdout = drain(child.stdout.take().expect("stdout"));
    let stderr = drain(child.stderr.take().expect("stderr"));
    let status = wait_with_deadline(child, COMMAND_DEADLINE, &format!("strom {shown}"));
    let _ = writer.join();
    Output {
        args: shown,
        status,
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    }
}
