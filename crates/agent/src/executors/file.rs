//! `file.read` (`{"path"}` → the text) and `file.write` (`{"path","content","mode"?}`,
//! written atomically with the mode, default `0644`), both confined to the configured roots
//! and size-capped.

use serde_json::{json, Value};

use super::confine::confined;
use super::Outcome;
use crate::config::RootsConfig;

const DEFAULT_MAX: usize = 1024 * 1024;

pub use switchboard_protocol::payload::{file_path as path_of, file_write as write_request};

pub fn read(config: &RootsConfig, payload: &Value) -> Outcome {
    let max = config.max_bytes.unwrap_or(DEFAULT_MAX);
    let real = match path_of(payload).and_then(|p| confined(&config.roots, p, true)) {
        Ok(real) => real,
        Err(e) => return Outcome::failed(e),
    };
    match std::fs::metadata(&real) {
        Ok(m) if !m.is_file() => {
            return Outcome::failed(format!("`{}` is not a file.", real.display()))
        }
        Ok(m) if m.len() > max as u64 => {
            return Outcome::failed(format!("`{}` is larger than {max} bytes.", real.display()))
        }
        Err(e) => return Outcome::failed(format!("`{}`: {e}", real.display())),
        Ok(_) => {}
    }
    match std::fs::read(&real) {
        Ok(bytes) => Outcome {
            success: true,
            output: json!({"path": real.display().to_string(), "size": bytes.len(),
                           "content": String::from_utf8_lossy(&bytes)}),
            error: None,
            log: vec![format!("read {} ({} bytes)", real.display(), bytes.len())],
        },
        Err(e) => Outcome::failed(format!("`{}`: {e}", real.display())),
    }
}

pub fn write(config: &RootsConfig, payload: &Value) -> Outcome {
    let max = config.max_bytes.unwrap_or(DEFAULT_MAX);
    let (path, content, mode) = match write_request(payload, max) {
        Ok(r) => r,
        Err(e) => return Outcome::failed(e),
    };
    let real = match confined(&config.roots, path, false) {
        Ok(real) => real,
        Err(e) => return Outcome::failed(e),
    };
    if real.is_dir() {
        return Outcome::failed(format!("`{}` is a directory.", real.display()));
    }
    match crate::state::write_atomic(&real, content.as_bytes(), mode) {
        Ok(()) => Outcome {
            success: true,
            output: json!({"path": real.display().to_string(), "size": content.len(),
                           "mode": format!("{mode:04o}")}),
            error: None,
            log: vec![format!(
                "wrote {} ({} bytes)",
                real.display(),
                content.len()
            )],
        },
        Err(e) => Outcome::failed(format!("`{}`: {e}", real.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(root: &std::path::Path) -> RootsConfig {
        RootsConfig {
            enabled: true,
            roots: vec![root.display().to_string()],
            max_bytes: Some(16),
        }
    }

    #[test]
    fn files_are_written_atomically_and_read_back_within_the_roots() {
        let root = tempfile::tempdir().unwrap();
        let c = config(root.path());
        let path = root.path().join("app.conf");
        let out = write(
            &c,
            &json!({"path": path, "content": "port = 80\n", "mode": "0640"}),
        );
        assert!(out.success, "{out:?}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o640
            );
        }
        let out = read(&c, &json!({"path": path}));
        assert_eq!(out.output["content"], "port = 80\n");
        assert!(
            !write(&c, &json!({"path": path, "content": "x".repeat(17)})).success,
            "size cap"
        );
        assert!(!write(&c, &json!({"path": "/etc/passwd", "content": "x"})).success);
        assert!(!read(&c, &json!({"path": "/etc/hostname"})).success);
        assert!(!write(&c, &json!({"path": path, "content": "x", "mode": "999"})).success);
    }
}
