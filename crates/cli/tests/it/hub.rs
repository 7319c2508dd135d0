//! Runs the `switchboard` binary in a temporary directory with a clean environment.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_switchboard");

/// A `switchboard` command with none of the caller's Switchboard settings leaking in.
pub fn command(dir: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir);
    for (name, _) in std::env::vars() {
        if name.starts_with("SWITCHBOARD_") || name == "DATABASE_URL" {
            cmd.env_remove(name);
        }
    }
    cmd.env("SWITCHBOARD_LOG_FORMAT", "json");
    cmd
}

pub fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = command(dir);
    cmd.args(args).envs(env.iter().copied());
    cmd.output().unwrap()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A running hub.
pub struct Hub {
    child: Child,
    pub base: String,
    pub lines: mpsc::Receiver<String>,
    /// The lines printed before `listening on`.
    pub startup: Vec<String>,
}

impl Hub {
    /// Starts `switchboard serve --listen 127.0.0.1:0` and waits for `listening on`.
    pub fn start(dir: &Path, env: &[(&str, &str)]) -> Hub {
        let mut cmd = command(dir);
        cmd.args(["serve", "--listen", "127.0.0.1:0"])
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let (tx, rx) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(at) = line.find("listening on http://") {
                        let rest = &line[at + "listening on ".len()..];
                        let base: String = rest
                            .chars()
                            .take_while(|c| !c.is_whitespace() && *c != '"')
                            .collect();
                        seen.push(line);
                        return Hub {
                            child,
                            base,
                            lines: rx,
                            startup: seen,
                        };
                    }
                    seen.push(line);
                }
                Err(_) => {
                    let _ = child.kill();
                    let output = child.wait_with_output().unwrap();
                    panic!(
                        "hub did not start; stdout: {seen:?}; stderr: {}",
                        String::from_utf8_lossy(&output.stderr)
                    );
                }
            }
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Kills the process at once (SIGKILL): nothing is flushed, nothing shuts down.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Sends SIGTERM (and returns at once).
    pub fn send_term(&self) {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    }

    /// Sends SIGTERM and waits for the process to exit; returns its exit code.
    pub fn terminate(mut self) -> (Option<i32>, Vec<String>) {
        self.send_term();
        let status = wait_timeout(&mut self.child, Duration::from_secs(30));
        let rest: Vec<String> = self.lines.try_iter().collect();
        (status, rest)
    }
}

fn wait_timeout(child: &mut Child, limit: Duration) -> Option<i32> {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            // Give the reader thread a moment to forward the last lines.
            std::thread::sleep(Duration::from_millis(50));
            return status.code();
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("process did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The database settings for one backend: nothing for SQLite (the default), `DATABASE_URL`
/// for a fresh PostgreSQL database.
#[allow(clippy::large_enum_variant, reason = "a handful of values in a test")]
pub enum Backend {
    Sqlite,
    Postgres(switchboard_store::testing::TestDb),
}

impl Backend {
    /// SQLite always, PostgreSQL too when `TEST_DATABASE_URL` is set. The databases are
    /// empty: the binary under test applies the migrations.
    pub async fn each() -> Vec<Backend> {
        let mut all = vec![Backend::Sqlite];
        if let Some(db) = switchboard_store::testing::TestDb::postgres_blank().await {
            all.push(Backend::Postgres(db));
        }
        all
    }

    pub fn env(&self) -> Vec<(&str, &str)> {
        match self {
            Backend::Sqlite => Vec::new(),
            Backend::Postgres(db) => vec![("DATABASE_URL", db.url())],
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres(_) => "PostgreSQL",
        }
    }
}

pub const PASSWORD: &str = "correct horse battery staple";

/// A signed-in person's cookie and CSRF token, for any hub on the same database.
pub struct Session {
    pub client: reqwest::Client,
    cookie: String,
    csrf: String,
}

impl Session {
    pub async fn send(
        &self,
        base: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> reqwest::Response {
        let mut request = self
            .client
            .request(method, format!("{base}{path}"))
            .header("cookie", &self.cookie)
            .header("x-csrf-token", &self.csrf);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap()
    }
}

/// First-boot setup of organisation `acme` with `setup_code` (the hub's
/// `SWITCHBOARD_SETUP_CODE`), then its owner's sign-in.
pub async fn set_up(hub: &Hub, setup_code: &str, context: &str) -> Session {
    use serde_json::json;
    let client = reqwest::Client::new();
    let setup = client
        .post(hub.url("/api/v1/setup"))
        .json(
            &json!({"setup_code": setup_code, "organization": {"name": "Acme", "slug": "acme"},
            "owner": {"email": "ada@acme.test", "name": "Ada", "password": PASSWORD}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(setup.status(), 201, "{context}");
    let login = client
        .post(hub.url("/api/v1/auth/login"))
        .json(&json!({"email": "ada@acme.test", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let cookie = login.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let body: serde_json::Value = login.json().await.unwrap();
    Session {
        client,
        cookie,
        csrf: body["csrf_token"].as_str().unwrap().to_owned(),
    }
}
