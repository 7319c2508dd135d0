//! `switchboard guard scan` and `switchboard guard redact`: the guard on standard input, for
//! logs and exports, and to check the guard from outside.

use std::io::{Read as _, Write as _};

use clap::{Subcommand, ValueEnum};
use serde::Serialize;
use switchboard_guard::{
    scanner, Action, Kind, Placeholders, Policy, StreamRedactor, MAX_INPUT_BYTES,
};

use crate::Failure;

#[derive(Debug, Subcommand)]
pub enum GuardCommand {
    /// Read standard input and print the sensitive spans found in it (byte offsets).
    Scan {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Read standard input and print it with personal data and credentials replaced.
    Redact {
        /// What to do with findings: placeholders like [EMAIL_1], or masks like j***@example.com.
        #[arg(long, value_enum, default_value_t = Style::Redact)]
        style: Style,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Format {
    /// One line per finding: kind, byte range, confidence, rule.
    Text,
    /// `{"findings":[{"kind","start","end","confidence"}]}`.
    Json,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Style {
    Redact,
    Mask,
}

#[derive(Serialize)]
struct ScanOutput {
    findings: Vec<FindingOutput>,
}

/// The fixed output contract of `guard scan --format json`.
#[derive(Serialize)]
struct FindingOutput {
    kind: Kind,
    start: usize,
    end: usize,
    confidence: f32,
}

pub fn run(command: GuardCommand) -> Result<(), Failure> {
    match command {
        GuardCommand::Scan { format } => scan(format),
        GuardCommand::Redact { style } => redact(style),
    }
}

fn scan(format: Format) -> Result<(), Failure> {
    let mut input = String::new();
    std::io::stdin()
        .take(MAX_INPUT_BYTES as u64 + 1)
        .read_to_string(&mut input)
        .map_err(|e| Failure::Runtime(format!("cannot read standard input as UTF-8 text: {e}")))?;
    let findings = scanner()
        .scan(&input)
        .map_err(|e| Failure::Runtime(e.to_string()))?;
    match format {
        Format::Json => {
            let output = ScanOutput {
                findings: findings
                    .iter()
                    .map(|f| FindingOutput {
                        kind: f.kind,
                        start: f.start,
                        end: f.end,
                        confidence: f.confidence,
                    })
                    .collect(),
            };
            let json =
                serde_json::to_string(&output).map_err(|e| Failure::Runtime(e.to_string()))?;
            println!("{json}");
        }
        Format::Text => {
            for f in &findings {
                println!(
                    "{:<12} {:>6}..{:<6} {:.2} {}",
                    f.kind.as_str(),
                    f.start,
                    f.end,
                    f.confidence,
                    f.rule
                );
            }
            if findings.is_empty() {
                println!("no findings");
            }
        }
    }
    Ok(())
}

/// Streams standard input through the redactor, so inputs of any size work.
fn redact(style: Style) -> Result<(), Failure> {
    let policy = match style {
        Style::Redact => Policy::default(),
        Style::Mask => Policy::uniform(Action::Mask).with(Kind::Injection, Action::Flag),
    };
    let mut redactor = StreamRedactor::new(policy);
    let mut placeholders = Placeholders::new();
    let mut stdin = std::io::stdin().lock();
    let mut stdout = std::io::stdout().lock();
    let mut buffer = vec![0u8; 64 * 1024];
    let mut carry: Vec<u8> = Vec::new();
    let write = |out: &mut std::io::StdoutLock<'_>, text: &str| {
        out.write_all(text.as_bytes())
            .map_err(|e| Failure::Runtime(format!("cannot write output: {e}")))
    };
    loop {
        let read = stdin
            .read(&mut buffer)
            .map_err(|e| Failure::Runtime(format!("cannot read standard input: {e}")))?;
        if read == 0 {
            break;
        }
        carry.extend_from_slice(&buffer[..read]);
        // Hand over whole UTF-8 characters only; keep an incomplete one for the next read.
        let valid = match std::str::from_utf8(&carry) {
            Ok(_) => carry.len(),
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            Err(_) => {
                return Err(Failure::Runtime(
                    "standard input is not UTF-8 text".to_owned(),
                ))
            }
        };
        let text = std::str::from_utf8(&carry[..valid])
            .unwrap_or_default()
            .to_owned();
        carry.drain(..valid);
        let out = redactor
            .push(&text, &mut placeholders)
            .map_err(|e| Failure::Runtime(e.to_string()))?;
        write(&mut stdout, &out)?;
    }
    if !carry.is_empty() {
        return Err(Failure::Runtime(
            "standard input ends inside a UTF-8 character".to_owned(),
        ));
    }
    let out = redactor
        .finish(&mut placeholders)
        .map_err(|e| Failure::Runtime(e.to_string()))?;
    write(&mut stdout, &out)?;
    stdout
        .flush()
        .map_err(|e| Failure::Runtime(format!("cannot write output: {e}")))
}
