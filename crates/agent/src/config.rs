//! The agent's own configuration (TOML): which executors it runs and within which limits.
//! The hub cannot widen it: a task for an executor not enabled here is refused by the agent.
//!
//! ```toml
//! [executors.echo]
//! enabled = true
//! [executors.shell]
//! enabled = true
//! allow = [{ path = "/bin/sleep", args = ["^[0-9]{1,3}$"] }]
//! ```
//! Executors not named are disabled.

use std::path::Path;

use regex::Regex;
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub executors: Executors,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Executors {
    pub echo: Option<Toggle>,
    pub shell: Option<ShellConfig>,
    /// `file.read` and `file.write`, confined to `roots`.
    pub file: Option<RootsConfig>,
    /// `env.read` and `env.update` on dotenv files under `roots`.
    pub env: Option<RootsConfig>,
    /// `http.check`.
    pub http: Option<Toggle>,
    /// `composite`: a sequence of other tasks (each still needs its own executor).
    pub composite: Option<Toggle>,
    /// `compose`: `docker compose` in stacks under `stacks_root`.
    pub compose: Option<ComposeConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComposeConfig {
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The directory whose subdirectories are the stacks (each with its compose file).
    pub stacks_root: String,
    /// Seconds an action may take (default 600).
    pub timeout_secs: Option<u64>,
}

/// An executor confined to directories: enabled by naming it (unless `enabled = false`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RootsConfig {
    #[serde(default = "yes")]
    pub enabled: bool,
    pub roots: Vec<String>,
    /// The largest file read or written, in bytes (default 1 MiB).
    pub max_bytes: Option<usize>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Toggle {
    #[serde(default)]
    pub enabled: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShellConfig {
    #[serde(default)]
    pub enabled: bool,
    #[serde(default)]
    pub allow: Vec<AllowedCommand>,
    /// Seconds a command may run (default 60).
    pub timeout_secs: Option<u64>,
    /// Bytes of stdout and of stderr kept (default 64 KiB).
    pub max_output_bytes: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowedCommand {
    /// Absolute path of the executable.
    pub path: String,
    /// One pattern per argument position; the command takes exactly this many arguments.
    #[serde(default)]
    pub args: Vec<String>,
}

/// A command the agent may run, its patterns compiled and anchored.
#[derive(Debug)]
pub struct Allowed {
    pub path: String,
    pub args: Vec<Regex>,
}

impl Config {
    pub fn load(path: &Path) -> Result<Config, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Config::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// A configuration from its TOML text, checked (patterns compile, roots are absolute).
    pub fn parse(text: &str) -> Result<Config, String> {
        let config: Config = toml::from_str(text).map_err(|e| e.to_string())?;
        config.allowed_commands()?;
        config.check_roots()?;
        Ok(config)
    }

    /// The executors enabled here (what the agent tells the hub it can run).
    pub fn enabled(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.executors.echo.as_ref().is_some_and(|e| e.enabled) {
            out.push("echo".to_owned());
        }
        if self.executors.shell.as_ref().is_some_and(|s| s.enabled) {
            out.push("shell".to_owned());
        }
        if self.executors.file.as_ref().is_some_and(|f| f.enabled) {
            out.extend(["file.read".to_owned(), "file.write".to_owned()]);
        }
        if self.executors.env.as_ref().is_some_and(|e| e.enabled) {
            out.extend(["env.read".to_owned(), "env.update".to_owned()]);
        }
        if self.executors.http.as_ref().is_some_and(|h| h.enabled) {
            out.push("http.check".to_owned());
        }
        if self.executors.composite.as_ref().is_some_and(|c| c.enabled) {
            out.push("composite".to_owned());
        }
        if self.executors.compose.as_ref().is_some_and(|c| c.enabled) {
            out.push("compose".to_owned());
        }
        out
    }

    /// Checks the roots: absolute paths.
    fn check_roots(&self) -> Result<(), String> {
        for (name, roots) in [("file", &self.executors.file), ("env", &self.executors.env)] {
            for root in roots.iter().flat_map(|r| r.roots.iter()) {
                if !Path::new(root).is_absolute() {
                    return Err(format!(
                        "executors.{name}.roots: `{root}` is not an absolute path"
                    ));
                }
            }
        }
        if let Some(c) = &self.executors.compose {
            if !Path::new(&c.stacks_root).is_absolute() {
                return Err(format!(
                    "executors.compose.stacks_root: `{}` is not an absolute path",
                    c.stacks_root
                ));
            }
        }
        Ok(())
    }

    /// The shell allowlist, checked: absolute paths, valid patterns (anchored whole).
    pub fn allowed_commands(&self) -> Result<Vec<Allowed>, String> {
        let Some(shell) = &self.executors.shell else {
            return Ok(Vec::new());
        };
        shell
            .allow
            .iter()
            .map(|a| {
                if !Path::new(&a.path).is_absolute() {
                    return Err(format!(
                        "executors.shell.allow: `{}` is not an absolute path",
                        a.path
                    ));
                }
                let args = a
                    .args
                    .iter()
                    .map(|p| {
                        Regex::new(&format!("^(?:{p})$"))
                            .map_err(|e| format!("executors.shell.allow `{}`: {e}", a.path))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Allowed {
                    path: a.path.clone(),
                    args,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, String> {
        let config: Config = toml::from_str(text).map_err(|e| e.to_string())?;
        config.allowed_commands()?;
        config.check_roots()?;
        Ok(config)
    }

    #[test]
    fn roots_enable_the_file_and_env_executors() {
        let config =
            parse("[executors.file]\nroots = [\"/srv/app\"]\n[executors.http]\nenabled = true\n")
                .unwrap();
        assert_eq!(config.enabled(), ["file.read", "file.write", "http.check"]);
        assert!(parse("[executors.env]\nroots = [\"srv\"]\n")
            .unwrap_err()
            .contains("absolute"));
        assert!(parse("[executors.compose]\nstacks_root = \"stacks\"\n")
            .unwrap_err()
            .contains("absolute"));
        let off = parse("[executors.file]\nenabled = false\nroots = [\"/srv\"]\n").unwrap();
        assert!(off.enabled().is_empty());
    }

    #[test]
    fn only_named_executors_are_enabled() {
        let config = parse("[executors.echo]\nenabled = true\n").unwrap();
        assert_eq!(config.enabled(), ["echo"]);
        assert!(parse("").unwrap().enabled().is_empty());
        let config = parse(
            "[executors.shell]\nenabled = true\nallow = [{ path = \"/bin/sleep\", args = [\"[0-9]{1,3}\"] }]\n",
        )
        .unwrap();
        assert_eq!(config.enabled(), ["shell"]);
        let allowed = config.allowed_commands().unwrap();
        assert!(allowed[0].args[0].is_match("10"));
        assert!(
            !allowed[0].args[0].is_match("10; rm"),
            "patterns match the whole argument"
        );
    }

    #[test]
    fn bad_allowlists_are_refused_at_start() {
        assert!(parse("[executors.shell]\nallow = [{ path = \"sleep\" }]\n")
            .unwrap_err()
            .contains("absolute"));
        assert!(
            parse("[executors.shell]\nallow = [{ path = \"/bin/x\", args = [\"(\"] }]\n").is_err()
        );
        assert!(
            parse("[executors.telnet]\nenabled = true\n").is_err(),
            "unknown executors are an error"
        );
    }
}
