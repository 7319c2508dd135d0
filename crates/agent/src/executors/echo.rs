//! `echo`: answers with the message it was given (to check that an agent works).

use serde_json::{json, Value};

use super::Outcome;

pub fn run(payload: &Value) -> Outcome {
    match payload.get("message") {
        None => Outcome {
            success: true,
            output: json!({"message": ""}),
            error: None,
            log: vec![String::new()],
        },
        Some(Value::String(m)) if m.len() <= 10_000 => Outcome {
            success: true,
            output: json!({"message": m}),
            error: None,
            log: vec![m.clone()],
        },
        Some(_) => Outcome::failed("`message` must be text of at most 10,000 bytes."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_says_it_back_and_refuses_odd_payloads() {
        let out = run(&json!({"message": "hello"}));
        assert!(out.success);
        assert_eq!(out.output["message"], "hello");
        assert!(!run(&json!({"message": 5})).success);
        assert!(run(&json!({})).success);
    }
}
