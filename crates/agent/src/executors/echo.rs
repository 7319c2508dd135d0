//! `echo`: answers with the message it was given (to check that an agent works).

use serde_json::{json, Value};

use super::Outcome;

pub fn run(payload: &Value) -> Outcome {
    match switchboard_protocol::payload::echo_message(payload) {
        Ok(m) => {
            let m = m.unwrap_or_default();
            Outcome {
                success: true,
                output: json!({"message": m}),
                error: None,
                log: vec![m.to_owned()],
            }
        }
        Err(e) => Outcome::failed(e),
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
