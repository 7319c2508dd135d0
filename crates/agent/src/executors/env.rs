//! `env.read` (`{"path","keys"?}`: every key, values shown only for the keys asked for) and
//! `env.update` (`{"path","set"?:{K:V},"unset"?:[K]}`: other lines kept, written atomically)
//! on dotenv files under the configured roots. Keys look like `APP_PORT`.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::confine::confined;
use super::Outcome;
use crate::config::RootsConfig;

pub use switchboard_protocol::payload::{env_update as update_request, EnvUpdate as Update};

/// A dotenv file's keys and values (`KEY=value`, `export KEY="value"`; comments skipped).
pub fn parse(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| {
            let l = l.trim();
            if l.starts_with('#') {
                return None;
            }
            let (k, v) = l.trim_start_matches("export ").split_once('=')?;
            Some((k.trim().to_owned(), v.trim().trim_matches('"').to_owned()))
        })
        .collect()
}

pub fn read(config: &RootsConfig, payload: &Value) -> Outcome {
    let raw = match switchboard_protocol::payload::env_path(payload) {
        Ok(raw) => raw,
        Err(e) => return Outcome::failed(e),
    };
    let real = match confined(&config.roots, raw, true) {
        Ok(real) => real,
        Err(e) => return Outcome::failed(e),
    };
    let text = match std::fs::read_to_string(&real) {
        Ok(t) => t,
        Err(e) => return Outcome::failed(format!("`{}`: {e}", real.display())),
    };
    let asked: Vec<&str> = payload["keys"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let values: BTreeMap<String, String> = parse(&text)
        .into_iter()
        .map(|(k, v)| {
            let shown = if asked.contains(&k.as_str()) {
                v
            } else {
                "***".to_owned()
            };
            (k, shown)
        })
        .collect();
    Outcome {
        success: true,
        output: json!({"path": real.display().to_string(), "values": values}),
        error: None,
        log: vec![],
    }
}

pub fn update(config: &RootsConfig, payload: &Value) -> Outcome {
    let Update {
        path: raw,
        set,
        unset,
    } = match update_request(payload) {
        Ok(u) => u,
        Err(e) => return Outcome::failed(e),
    };
    let real = match confined(&config.roots, raw, false) {
        Ok(real) => real,
        Err(e) => return Outcome::failed(e),
    };
    let old = std::fs::read_to_string(&real).unwrap_or_default();
    let mut seen = Vec::new();
    let mut lines: Vec<String> = Vec::new();
    for line in old.lines() {
        let key = line
            .trim()
            .trim_start_matches("export ")
            .split_once('=')
            .map(|(k, _)| k.trim().to_owned());
        match key {
            Some(k) if unset.contains(&k) => {}
            Some(k) if set.contains_key(&k) => {
                lines.push(format!("{k}={}", set[&k]));
                seen.push(k);
            }
            _ => lines.push(line.to_owned()),
        }
    }
    for (k, v) in &set {
        if !seen.contains(k) {
            lines.push(format!("{k}={v}"));
        }
    }
    let text = lines.join("\n") + "\n";
    match crate::state::write_atomic(&real, text.as_bytes(), 0o600) {
        Ok(()) => Outcome {
            success: true,
            output: json!({"path": real.display().to_string(), "set": set.keys().collect::<Vec<_>>(), "unset": unset}),
            error: None,
            log: vec![format!("updated {}", real.display())],
        },
        Err(e) => Outcome::failed(format!("`{}`: {e}", real.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotenv_files_are_updated_in_place_and_read_redacted() {
        let root = tempfile::tempdir().unwrap();
        let c = RootsConfig {
            enabled: true,
            roots: vec![root.path().display().to_string()],
            max_bytes: None,
        };
        let path = root.path().join(".env");
        std::fs::write(&path, "# app\nAPP_PORT=80\nDB_PASSWORD=hunter2\nOLD=1\n").unwrap();
        let out = update(
            &c,
            &json!({"path": path, "set": {"APP_PORT": "8080", "NEW_KEY": "x"}, "unset": ["OLD"]}),
        );
        assert!(out.success, "{out:?}");
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "# app\nAPP_PORT=8080\nDB_PASSWORD=hunter2\nNEW_KEY=x\n"
        );
        let out = read(&c, &json!({"path": path, "keys": ["APP_PORT"]}));
        assert_eq!(out.output["values"]["APP_PORT"], "8080");
        assert_eq!(
            out.output["values"]["DB_PASSWORD"], "***",
            "values only for the keys asked for"
        );
        assert!(!update(&c, &json!({"path": path, "set": {"bad-key": "x"}})).success);
        assert!(!update(&c, &json!({"path": path, "set": {"K": "a\nINJECTED=1"}})).success);
        assert!(!update(&c, &json!({"path": "/etc/environment", "set": {"K": "v"}})).success);
    }
}
