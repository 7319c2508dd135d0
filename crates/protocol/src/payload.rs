//! The shape of each task type's payload: pure functions (no IO) that the hub runs before a
//! task is queued or an approval asked for — so nobody approves a task that cannot run — and
//! the agent's executors run again before they act. What a payload may *do* (the shell
//! allowlist, the file and dotenv roots, size caps) is the agent's own configuration and is
//! checked there alone.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

/// Checks `payload` against the shape of task type `kind` (a composite's steps included);
/// the error names the field that is wrong. A type that is not one of the task types passes
/// (the caller refuses unknown types with its own list).
pub fn check(kind: &str, payload: &Value) -> Result<(), String> {
    match kind {
        "echo" => echo_message(payload).map(drop),
        "shell" => shell_command(payload).map(drop),
        "file.read" => file_path(payload).map(drop),
        "file.write" => file_write(payload, usize::MAX).map(drop),
        "env.read" => env_path(payload).map(drop),
        "env.update" => env_update(payload).map(drop),
        "http.check" => http_check(payload).map(drop),
        "compose" => compose(payload).map(drop),
        "composite" => {
            for (i, step) in steps(payload)?.iter().enumerate() {
                let n = i + 1;
                let kind = step["type"]
                    .as_str()
                    .ok_or(format!("Step {n}: `type` is a task type."))?;
                if kind == "composite" {
                    return Err(format!("Step {n}: composite steps may not be composite."));
                }
                check(kind, &step["payload"]).map_err(|e| format!("Step {n} ({kind}): {e}"))?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// `echo`: the message, if any (text of at most 10,000 bytes).
pub fn echo_message(payload: &Value) -> Result<Option<&str>, String> {
    match payload.get("message") {
        None => Ok(None),
        Some(Value::String(m)) if m.len() <= 10_000 => Ok(Some(m)),
        Some(_) => Err("`message` must be text of at most 10,000 bytes.".to_owned()),
    }
}

/// `shell`: the command (an absolute path) and its arguments (strings), not yet matched
/// against any allowlist.
pub fn shell_command(payload: &Value) -> Result<(&str, Vec<String>), String> {
    let command = payload["command"]
        .as_str()
        .ok_or("`command` is the absolute path of an allowed executable.")?;
    if !command.starts_with('/') {
        return Err(format!(
            "`{command}` is not an absolute path; only allowlisted absolute paths run."
        ));
    }
    let args = match &payload["args"] {
        Value::Null => Vec::new(),
        Value::Array(items) => items
            .iter()
            .map(|a| a.as_str().map(str::to_owned).ok_or("`args` are strings."))
            .collect::<Result<_, _>>()?,
        _ => return Err("`args` is a list of strings.".to_owned()),
    };
    Ok((command, args))
}

/// `file.read` / `file.write`: the path named (not yet confined to any root).
pub fn file_path(payload: &Value) -> Result<&str, String> {
    payload["path"]
        .as_str()
        .ok_or_else(|| "`path` is an absolute path.".to_owned())
}

/// `file.write`: the path, at most `max` bytes of text and an octal mode up to `0777`
/// (default `0644`).
pub fn file_write(payload: &Value, max: usize) -> Result<(&str, &str, u32), String> {
    let content = payload["content"]
        .as_str()
        .ok_or("`content` is the text to write.")?;
    if content.len() > max {
        return Err(format!("`content` is larger than {max} bytes."));
    }
    let mode = match payload["mode"].as_str() {
        None => 0o644,
        Some(m) => match u32::from_str_radix(m.trim_start_matches("0o"), 8) {
            Ok(mode) if mode <= 0o777 => mode,
            _ => return Err("`mode` is octal, like \"0640\".".to_owned()),
        },
    };
    Ok((file_path(payload)?, content, mode))
}

/// `env.read` / `env.update`: the dotenv file named.
pub fn env_path(payload: &Value) -> Result<&str, String> {
    payload["path"]
        .as_str()
        .ok_or_else(|| "`path` is the absolute path of a dotenv file.".to_owned())
}

/// A dotenv key: like `APP_PORT` (upper-case letters, digits and `_`, at most 128).
pub fn valid_env_key(k: &str) -> bool {
    let mut chars = k.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_uppercase() || c == '_')
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        && k.len() <= 128
}

/// An `env.update` as its payload asks for it.
#[derive(Debug, PartialEq)]
pub struct EnvUpdate<'a> {
    pub path: &'a str,
    pub set: BTreeMap<String, String>,
    pub unset: Vec<String>,
}

/// `env.update`: keys like `APP_PORT`, one-line values.
pub fn env_update(payload: &Value) -> Result<EnvUpdate<'_>, String> {
    let path = env_path(payload)?;
    let set: BTreeMap<String, String> = match &payload["set"] {
        Value::Null => BTreeMap::new(),
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
            .collect::<Option<_>>()
            .ok_or("`set` maps keys to text values.")?,
        _ => return Err("`set` maps keys to text values.".to_owned()),
    };
    let unset: Vec<String> = payload["unset"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    if let Some(bad) = set.keys().chain(unset.iter()).find(|k| !valid_env_key(k)) {
        return Err(format!(
            "`{bad}` is not a key: upper-case letters, digits and `_`."
        ));
    }
    if set.values().any(|v| v.contains('\n') || v.contains('\r')) {
        return Err("Values are one line.".to_owned());
    }
    Ok(EnvUpdate { path, set, unset })
}

/// An `http.check` as its payload asks for it.
#[derive(Debug, PartialEq)]
pub struct HttpCheck<'a> {
    pub url: &'a str,
    pub expected: u64,
    pub timeout: Duration,
}

/// `http.check`: an http(s) URL, the status expected (200), a timeout of 1–60 s (10).
pub fn http_check(payload: &Value) -> Result<HttpCheck<'_>, String> {
    let url = payload["url"]
        .as_str()
        .filter(|u| u.starts_with("http://") || u.starts_with("https://"))
        .ok_or("`url` is an http:// or https:// URL.")?;
    Ok(HttpCheck {
        url,
        expected: payload["expect_status"].as_u64().unwrap_or(200),
        timeout: Duration::from_secs(payload["timeout_secs"].as_u64().unwrap_or(10).clamp(1, 60)),
    })
}

/// The `docker compose` arguments of an action (`up`, `pull`, `ps`, `restart`).
pub fn compose_arguments(action: &str) -> Option<Vec<String>> {
    let args: &[&str] = match action {
        "up" => &["compose", "up", "-d"],
        "pull" => &["compose", "pull"],
        "ps" => &["compose", "ps"],
        "restart" => &["compose", "restart"],
        _ => return None,
    };
    Some(args.iter().map(|a| (*a).to_owned()).collect())
}

fn valid_stack(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// `compose`: the stack's directory name and the `docker compose` arguments.
pub fn compose(payload: &Value) -> Result<(&str, Vec<String>), String> {
    let stack = payload["stack"].as_str().unwrap_or_default();
    if !valid_stack(stack) {
        return Err(
            "`stack` is a directory name: lower-case letters, digits, `-`, `_`.".to_owned(),
        );
    }
    let action = payload["action"].as_str().unwrap_or_default();
    let args = compose_arguments(action).ok_or("`action` is one of up, pull, ps, restart.")?;
    Ok((stack, args))
}

/// `composite`: its 1–20 steps, each `{type, payload}`.
pub fn steps(payload: &Value) -> Result<&Vec<Value>, String> {
    payload["steps"]
        .as_array()
        .filter(|s| !s.is_empty() && s.len() <= 20)
        .ok_or_else(|| "`steps` is a list of 1–20 `{type, payload}`.".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_type_names_the_field_that_is_wrong() {
        let cases = [
            ("echo", json!({"message": 5}), "`message`"),
            ("shell", json!({"path": "/bin/sleep"}), "`command`"),
            ("shell", json!({"command": "sleep"}), "not an absolute path"),
            (
                "shell",
                json!({"command": "/bin/sleep", "args": [1]}),
                "`args`",
            ),
            ("file.read", json!({}), "`path`"),
            ("file.write", json!({"path": "/srv/a"}), "`content`"),
            (
                "file.write",
                json!({"path": "/srv/a", "content": "", "mode": "999"}),
                "`mode`",
            ),
            (
                "env.update",
                json!({"path": "/srv/.env", "set": {"bad key": "x"}}),
                "not a key",
            ),
            (
                "env.update",
                json!({"path": "/srv/.env", "set": {"A": "x\ny"}}),
                "one line",
            ),
            ("http.check", json!({"url": "ftp://x"}), "`url`"),
            (
                "compose",
                json!({"stack": "../etc", "action": "up"}),
                "`stack`",
            ),
            (
                "compose",
                json!({"stack": "shop", "action": "down"}),
                "`action`",
            ),
            ("composite", json!({"steps": []}), "`steps`"),
            (
                "composite",
                json!({"steps": [{"payload": {}}]}),
                "Step 1: `type`",
            ),
            (
                "composite",
                json!({"steps": [{"type": "composite"}]}),
                "may not be composite",
            ),
            (
                "composite",
                json!({"steps": [{"type": "echo"}, {"type": "shell", "payload": {}}]}),
                "Step 2 (shell): `command`",
            ),
        ];
        for (kind, payload, expected) in cases {
            let error = check(kind, &payload).expect_err(&format!("{kind} {payload}"));
            assert!(error.contains(expected), "{kind} {payload}: {error}");
        }
    }

    #[test]
    fn well_formed_payloads_pass() {
        let cases = [
            ("echo", json!({})),
            ("echo", json!({"message": "hi"})),
            ("shell", json!({"command": "/bin/sleep", "args": ["1"]})),
            ("file.read", json!({"path": "/srv/app/a.txt"})),
            (
                "file.write",
                json!({"path": "/srv/app/a.txt", "content": "x", "mode": "0640"}),
            ),
            (
                "env.read",
                json!({"path": "/srv/app/.env", "keys": ["APP_PORT"]}),
            ),
            (
                "env.update",
                json!({"path": "/srv/app/.env", "set": {"APP_PORT": "8080"}}),
            ),
            (
                "http.check",
                json!({"url": "http://127.0.0.1:8080/healthz"}),
            ),
            ("compose", json!({"stack": "shop", "action": "restart"})),
            (
                "composite",
                json!({"steps": [{"type": "echo"}, {"type": "http.check",
                                  "payload": {"url": "https://example.com"}}]}),
            ),
        ];
        for (kind, payload) in cases {
            assert_eq!(check(kind, &payload), Ok(()), "{kind} {payload}");
        }
    }
}
