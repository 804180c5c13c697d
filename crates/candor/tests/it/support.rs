//! Running the real binary.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub fn candor() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_candor"));
    c.env_remove("CANDOR_POLICY")
        .env_remove("CANDOR_DATA_DIR")
        .env_remove("CANDOR_BIND")
        .env_remove("CANDOR_TLS_CERT")
        .env_remove("CANDOR_TLS_KEY")
        .env("CANDOR_LOG", "warn");
    c
}

/// Creates a key with `candor keys create` and returns the last line of its output.
pub fn create_key(data_dir: &Path, scope: &str) -> String {
    let out = candor()
        .args(["keys", "create", "--scope", scope, "--data-dir"])
        .arg(data_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .to_owned()
}

/// A running `candor serve` on a free port; killed when dropped.
pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Server {
    pub fn start(data_dir: &Path, extra_env: &[(&str, &str)]) -> Server {
        Server::start_with(data_dir, &[], extra_env)
    }

    /// Like [`Server::start`], with more arguments to `serve`.
    pub fn start_with(data_dir: &Path, extra_args: &[&str], extra_env: &[(&str, &str)]) -> Server {
        let mut cmd = candor();
        cmd.args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(extra_args);
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        // The first line says where it listens: "candor listening on http://127.0.0.1:PORT"
        // (https with TLS).
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = tx.send(line);
            }
            for _ in lines {}
        });
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("candor serve did not start in 30 s");
        let base = line.rsplit(' ').next().unwrap().to_owned();
        assert!(
            base.starts_with("http://127.0.0.1:") || base.starts_with("https://127.0.0.1:"),
            "{line}"
        );
        Server { child, base }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
