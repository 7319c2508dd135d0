//! `shell`: runs one allowlisted executable — never a shell interpreter — with arguments
//! that each match their pattern, a scrubbed environment, a timeout and capped output.
//! Payload: `{"command": "/bin/sleep", "args": ["1"]}`.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::Outcome;
use crate::config::{Allowed, ShellConfig};

const DEFAULT_TIMEOUT_SECS: u64 = 60;
const DEFAULT_MAX_OUTPUT: usize = 64 * 1024;

/// The command to run, if the payload is allowed: `(path, args)`.
pub fn check<'a>(
    allowed: &'a [Allowed],
    payload: &Value,
) -> Result<(&'a Allowed, Vec<String>), String> {
    let (command, args) = switchboard_protocol::payload::shell_command(payload)?;
    let entry = allowed
        .iter()
        .find(|a| a.path == command)
        .ok_or_else(|| format!("`{command}` is not in this agent's allowlist."))?;
    if args.len() != entry.args.len() {
        return Err(format!(
            "`{command}` takes {} argument(s) here, not {}.",
            entry.args.len(),
            args.len()
        ));
    }
    for (i, (arg, pattern)) in args.iter().zip(&entry.args).enumerate() {
        if !pattern.is_match(arg) {
            return Err(format!(
                "Argument {} (`{arg}`) is not allowed for `{command}`.",
                i + 1
            ));
        }
    }
    Ok((entry, args))
}

fn capped(mut reader: impl std::io::Read, max: usize) -> (String, bool) {
    let mut kept = Vec::new();
    let mut buf = [0u8; 8192];
    let mut cut = false;
    while let Ok(n) = reader.read(&mut buf) {
        if n == 0 {
            break;
        }
        let room = max.saturating_sub(kept.len());
        kept.extend_from_slice(&buf[..n.min(room)]);
        cut |= n > room;
    }
    (String::from_utf8_lossy(&kept).into_owned(), cut)
}

pub fn run(config: Option<&ShellConfig>, allowed: &[Allowed], payload: &Value) -> Outcome {
    let (entry, args) = match check(allowed, payload) {
        Ok(found) => found,
        Err(e) => return Outcome::failed(e),
    };
    let timeout = Duration::from_secs(
        config
            .and_then(|c| c.timeout_secs)
            .unwrap_or(DEFAULT_TIMEOUT_SECS),
    );
    let max = config
        .and_then(|c| c.max_output_bytes)
        .unwrap_or(DEFAULT_MAX_OUTPUT);
    run_process(&entry.path, &args, None, timeout, max)
}

/// Runs an executable directly (no shell) with a scrubbed environment, in `cwd` if given,
/// killing it after `timeout`, keeping at most `max` bytes of each output stream.
pub fn run_process(
    path: &str,
    args: &[String],
    cwd: Option<&std::path::Path>,
    timeout: Duration,
    max: usize,
) -> Outcome {
    let mut command = Command::new(path);
    if let Some(dir) = cwd {
        command.current_dir(dir);
    }
    let mut child = match command
        .args(args)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("LANG", "C.UTF-8")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(e) => return Outcome::failed(format!("`{path}` could not start: {e}")),
    };
    let stdout = child
        .stdout
        .take()
        .map(|out| std::thread::spawn(move || capped(out, max)));
    let stderr = child
        .stderr
        .take()
        .map(|err| std::thread::spawn(move || capped(err, max)));
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() >= timeout => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(_) => break None,
        }
    };
    let take = |h: Option<std::thread::JoinHandle<(String, bool)>>| {
        h.and_then(|h| h.join().ok()).unwrap_or_default()
    };
    let (out, out_cut) = take(stdout);
    let (err, err_cut) = take(stderr);
    let log: Vec<String> = out.lines().chain(err.lines()).map(str::to_owned).collect();
    let output = json!({"exit_code": status.and_then(|s| s.code()), "stdout": out, "stderr": err,
                        "truncated": out_cut || err_cut, "seconds": started.elapsed().as_secs_f64()});
    match status {
        None => Outcome {
            success: false,
            output,
            error: Some(format!("Timed out after {} s; killed.", timeout.as_secs())),
            log,
        },
        Some(s) if s.success() => Outcome {
            success: true,
            output,
            error: None,
            log,
        },
        Some(s) => Outcome {
            success: false,
            output,
            error: Some(format!("Exited with {s}.")),
            log,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn allowed(toml: &str) -> Vec<Allowed> {
        let config: Config = toml::from_str(toml).unwrap();
        config.allowed_commands().unwrap()
    }

    const LIST: &str = "[executors.shell]\nenabled = true\nallow = [{ path = \"/bin/echo\", args = [\"[a-z]{1,10}\"] }, { path = \"/bin/sleep\", args = [\"[0-9]{1,2}\"] }]\n";

    #[test]
    fn only_allowlisted_commands_with_matching_arguments_run() {
        let list = allowed(LIST);
        for (payload, why) in [
            (json!({"command": "echo", "args": ["hi"]}), "absolute"),
            (
                json!({"command": "/bin/sh", "args": ["-c", "id"]}),
                "allowlist",
            ),
            (
                json!({"command": "/bin/echo", "args": ["hi; rm -rf /"]}),
                "not allowed",
            ),
            (
                json!({"command": "/bin/echo", "args": ["$(id)"]}),
                "not allowed",
            ),
            (
                json!({"command": "/bin/echo", "args": ["a", "b"]}),
                "argument(s)",
            ),
            (json!({"command": "/bin/echo", "args": "hi"}), "list"),
            (json!({"args": ["hi"]}), "absolute path"),
        ] {
            let err = check(&list, &payload).unwrap_err();
            assert!(err.contains(why), "{payload}: {err}");
        }
        assert!(check(&list, &json!({"command": "/bin/echo", "args": ["hello"]})).is_ok());
    }

    #[test]
    fn a_command_runs_with_its_output_and_a_timeout() {
        if !std::path::Path::new("/bin/echo").exists()
            || !std::path::Path::new("/bin/sleep").exists()
        {
            return;
        }
        let list = allowed(LIST);
        let out = run(
            None,
            &list,
            &json!({"command": "/bin/echo", "args": ["hello"]}),
        );
        assert!(out.success, "{out:?}");
        assert_eq!(out.output["stdout"], "hello\n");
        assert_eq!(out.output["exit_code"], 0);
        let slow = ShellConfig {
            enabled: true,
            allow: vec![],
            timeout_secs: Some(1),
            max_output_bytes: None,
        };
        let out = run(
            Some(&slow),
            &list,
            &json!({"command": "/bin/sleep", "args": ["5"]}),
        );
        assert!(!out.success);
        assert!(out.error.unwrap().contains("Timed out"));
    }
}
