//! The agent's state directory: `agent.json` with the hub's URL and the agent's id and secret
//! (mode 0600, written atomically), and `outbox/` with results not yet delivered.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub hub: String,
    pub agent_id: String,
    pub secret: String,
    pub organization: String,
}

fn file(dir: &Path) -> PathBuf {
    dir.join("agent.json")
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory with `mode`,
/// flushed to disk, then renamed over the target.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut out = options.open(&tmp)?;
    out.write_all(bytes)?;
    out.sync_all()?;
    drop(out);
    fs::rename(&tmp, path)
}

impl State {
    pub fn save(&self, dir: &Path) -> Result<(), String> {
        fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let json = serde_json::to_vec_pretty(self).map_err(|e| e.to_string())?;
        write_atomic(&file(dir), &json, 0o600).map_err(|e| format!("{}: {e}", file(dir).display()))
    }

    pub fn load(dir: &Path) -> Result<State, String> {
        let path = file(dir);
        let text = fs::read_to_string(&path).map_err(|e| {
            format!(
                "{}: {e} (register first: switchboard-agent register --hub URL --token T --state-dir {})",
                path.display(),
                dir.display()
            )
        })?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// Results that could not be delivered yet, one file per task, sent when the hub is back.
pub struct Outbox {
    dir: PathBuf,
}

impl Outbox {
    pub fn new(state_dir: &Path) -> std::io::Result<Outbox> {
        let dir = state_dir.join("outbox");
        fs::create_dir_all(&dir)?;
        Ok(Outbox { dir })
    }

    pub fn keep(
        &self,
        task: &str,
        result: &switchboard_protocol::TaskResult,
    ) -> std::io::Result<()> {
        let json = serde_json::to_vec(result).map_err(std::io::Error::other)?;
        write_atomic(&self.dir.join(format!("{task}.json")), &json, 0o600)
    }

    /// Undelivered results, oldest first.
    pub fn pending(&self) -> Vec<(String, switchboard_protocol::TaskResult)> {
        let mut found: Vec<(
            std::time::SystemTime,
            String,
            switchboard_protocol::TaskResult,
        )> = fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name().into_string().ok()?;
                let task = name.strip_suffix(".json")?.to_owned();
                let modified = entry.metadata().and_then(|m| m.modified()).ok()?;
                let result = serde_json::from_slice(&fs::read(entry.path()).ok()?).ok()?;
                Some((modified, task, result))
            })
            .collect();
        found.sort_by_key(|(at, _, _)| *at);
        found.into_iter().map(|(_, t, r)| (t, r)).collect()
    }

    pub fn delivered(&self, task: &str) {
        let _ = fs::remove_file(self.dir.join(format!("{task}.json")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_is_written_whole_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let state = State {
            hub: "http://127.0.0.1:8080".into(),
            agent_id: "a".into(),
            secret: "sba_x".into(),
            organization: "acme".into(),
        };
        state.save(dir.path()).unwrap();
        assert_eq!(State::load(dir.path()).unwrap(), state);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(dir.path().join("agent.json"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(State::load(&dir.path().join("missing"))
            .unwrap_err()
            .contains("register first"));
    }

    #[test]
    fn undelivered_results_wait_in_the_outbox() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::new(dir.path()).unwrap();
        let result = switchboard_protocol::TaskResult {
            success: true,
            output: serde_json::json!({"x": 1}),
            error: None,
            log: vec![],
            next: None,
        };
        outbox.keep("t1", &result).unwrap();
        assert_eq!(outbox.pending(), vec![("t1".to_owned(), result)]);
        outbox.delivered("t1");
        assert!(outbox.pending().is_empty());
    }
}
