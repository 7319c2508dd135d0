//! The executors: each checks its payload against the agent's own configuration before it
//! does anything. An executor that is not enabled refuses every task.

pub mod echo;
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
    match kind {
        "echo" => echo::run(payload),
        "shell" => match config.allowed_commands() {
            Ok(allowed) => shell::run(config.executors.shell.as_ref(), &allowed, payload),
            Err(e) => Outcome::failed(e),
        },
        other => Outcome::failed(format!("This agent has no `{other}` executor.")),
    }
}
