//! The executors: each checks its payload against the agent's own configuration before it
//! does anything. An executor that is not enabled refuses every task.

pub mod compose;
mod confine;
pub mod echo;
pub mod env;
pub mod file;
pub mod http;
pub mod shell;

use serde_json::Value;

use crate::config::Config;

/// What an executor made of a task: its output (or why it failed) and log lines.
#[derive(Debug, PartialEq)]
pub struct Outcome {
    pub success: bool,
    pub output: Value,
    pub error: Option<String>,
    pub log: Vec<String>,
}

impl Outcome {
    pub fn failed(error: impl Into<String>) -> Outcome {
        Outcome {
            success: false,
            output: Value::Null,
            error: Some(error.into()),
            log: Vec::new(),
        }
    }
}

/// Runs one task with the executor its type names.
pub fn run(config: &Config, kind: &str, payload: &Value) -> Outcome {
    if !config.enabled().iter().any(|k| k == kind) {
        return Outcome::failed(format!(
            "The `{kind}` executor is not enabled on this agent (its own configuration decides)."
        ));
    }
    let e = &config.executors;
    match (kind, e.file.as_ref(), e.env.as_ref()) {
        ("echo", _, _) => echo::run(payload),
        ("shell", _, _) => match config.allowed_commands() {
            Ok(allowed) => shell::run(e.shell.as_ref(), &allowed, payload),
            Err(err) => Outcome::failed(err),
        },
        ("file.read", Some(f), _) => file::read(f, payload),
        ("file.write", Some(f), _) => file::write(f, payload),
        ("env.read", _, Some(v)) => env::read(v, payload),
        ("env.update", _, Some(v)) => env::update(v, payload),
        ("http.check", _, _) => http::check(payload),
        ("composite", _, _) => composite(config, payload),
        ("compose", _, _) => match e.compose.as_ref() {
            Some(c) => compose::run(c, payload),
            None => Outcome::failed("The `compose` executor is not configured."),
        },
        (other, _, _) => Outcome::failed(format!("This agent has no `{other}` executor.")),
    }
}

pub use switchboard_protocol::payload::steps;

/// `composite`: `{"steps":[{"type","payload"}]}` run in order, stopping at the first failure;
/// the output lists each step's result. Steps may not nest composites.
fn composite(config: &Config, payload: &Value) -> Outcome {
    let steps = match steps(payload) {
        Ok(steps) => steps,
        Err(e) => return Outcome::failed(e),
    };
    let mut results = Vec::new();
    let mut log = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let kind = step["type"].as_str().unwrap_or_default();
        let outcome = if kind == "composite" {
            Outcome::failed("Composite steps may not be composite.")
        } else {
            run(config, kind, &step["payload"])
        };
        log.extend(outcome.log.iter().map(|l| format!("[{}] {l}", i + 1)));
        results.push(serde_json::json!({"type": kind, "success": outcome.success,
                                        "output": outcome.output, "error": outcome.error}));
        if !outcome.success {
            return Outcome {
                success: false,
                output: serde_json::json!({"steps": results}),
                error: Some(format!(
                    "Step {} ({kind}) failed: {}",
                    i + 1,
                    outcome.error.unwrap_or_default()
                )),
                log,
            };
        }
    }
    Outcome {
        success: true,
        output: serde_json::json!({"steps": results}),
        error: None,
        log,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_composite_stops_at_the_first_failure_and_needs_each_executor() {
        let config: Config = toml::from_str(
            "[executors.echo]\nenabled = true\n[executors.composite]\nenabled = true\n",
        )
        .unwrap();
        let out = run(
            &config,
            "composite",
            &serde_json::json!({"steps": [
                {"type": "echo", "payload": {"message": "one"}},
                {"type": "shell", "payload": {"command": "/bin/true"}},
                {"type": "echo", "payload": {"message": "never"}}
            ]}),
        );
        assert!(!out.success);
        assert_eq!(
            out.output["steps"].as_array().unwrap().len(),
            2,
            "stopped at the second step"
        );
        assert!(out.error.unwrap().contains("not enabled"));
        assert!(
            !run(
                &config,
                "file.read",
                &serde_json::json!({"path": "/etc/hostname"})
            )
            .success,
            "not enabled"
        );
    }
}
