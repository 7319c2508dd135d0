//! `compose`: `docker compose up -d | pull | ps | restart` for one stack — a directory under
//! the configured stacks root. Payload: `{"stack": "shop", "action": "up"}`.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use super::confine::confined;
use super::shell::run_process;
use super::Outcome;
use crate::config::ComposeConfig;

const DOCKER: &[&str] = &["/usr/bin/docker", "/usr/local/bin/docker"];

pub use switchboard_protocol::payload::{compose as parse, compose_arguments as arguments};

pub fn run(config: &ComposeConfig, payload: &Value) -> Outcome {
    let (stack, args) = match parse(payload) {
        Ok(p) => p,
        Err(e) => return Outcome::failed(e),
    };
    let dir = format!("{}/{stack}", config.stacks_root.trim_end_matches('/'));
    let real = match confined(std::slice::from_ref(&config.stacks_root), &dir, true) {
        Ok(real) if real.is_dir() => real,
        Ok(_) => return Outcome::failed(format!("`{dir}` is not a directory.")),
        Err(e) => return Outcome::failed(e),
    };
    let Some(docker) = DOCKER.iter().find(|p| Path::new(p).exists()) else {
        return Outcome::failed(
            "Docker is not installed on this server (no docker in /usr/bin or /usr/local/bin).",
        );
    };
    let timeout = Duration::from_secs(config.timeout_secs.unwrap_or(600));
    run_process(docker, &args, Some(&real), timeout, 64 * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_known_actions_on_stacks_under_the_root_run() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("shop")).unwrap();
        let config = ComposeConfig {
            enabled: true,
            stacks_root: root.path().display().to_string(),
            timeout_secs: None,
        };
        assert!(run(
            &config,
            &serde_json::json!({"stack": "shop", "action": "down -v"})
        )
        .error
        .unwrap()
        .contains("action"));
        assert!(run(
            &config,
            &serde_json::json!({"stack": "../etc", "action": "up"})
        )
        .error
        .unwrap()
        .contains("stack"));
        assert!(run(
            &config,
            &serde_json::json!({"stack": "missing", "action": "up"})
        )
        .error
        .is_some());
        assert_eq!(arguments("up").unwrap(), ["compose", "up", "-d"]);
        let out = run(
            &config,
            &serde_json::json!({"stack": "shop", "action": "ps"}),
        );
        if !DOCKER.iter().any(|p| Path::new(p).exists()) {
            assert!(
                out.error.unwrap().contains("Docker is not installed"),
                "a clear error without docker"
            );
        }
    }
}
