//! `http.check`: `{"url","expect_status"?: 200,"timeout_secs"?: 10}` — a GET that succeeds
//! when the status is the one expected.

use std::time::Instant;

use serde_json::{json, Value};

use super::Outcome;

pub use switchboard_protocol::payload::{http_check as parse, HttpCheck as Check};

pub fn check(payload: &Value) -> Outcome {
    let Check {
        url,
        expected,
        timeout,
    } = match parse(payload) {
        Ok(c) => c,
        Err(e) => return Outcome::failed(e),
    };
    let agent = ureq::AgentBuilder::new()
        .timeout(timeout)
        .redirects(0)
        .build();
    let started = Instant::now();
    let status = match agent.get(url).call() {
        Ok(r) => r.status(),
        Err(ureq::Error::Status(code, _)) => code,
        Err(e) => return Outcome::failed(format!("`{url}` did not answer: {e}")),
    };
    let output = json!({"url": url, "status": status, "expected": expected,
                        "milliseconds": started.elapsed().as_millis() as u64});
    if u64::from(status) == expected {
        Outcome {
            success: true,
            output,
            error: None,
            log: vec![format!("{url} answered {status}")],
        }
    } else {
        Outcome {
            success: false,
            output,
            error: Some(format!("`{url}` answered {status}, not {expected}.")),
            log: vec![],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_web_urls_are_checked() {
        assert!(!check(&json!({"url": "file:///etc/passwd"})).success);
        assert!(!check(&json!({})).success);
        let out = check(&json!({"url": "http://127.0.0.1:9/", "timeout_secs": 1}));
        assert!(!out.success && out.error.unwrap().contains("did not answer"));
    }
}
