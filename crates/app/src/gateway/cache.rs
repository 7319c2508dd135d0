//! The optional exact-match response cache: per key, off unless the key has a
//! `cache_ttl_secs`. The cache key is a SHA-256 of the resolved model and the guarded request
//! (so a cached answer never holds more than the upstream saw); entries live in memory for
//! their TTL, at most [`MAX_ENTRIES`] per process.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use switchboard_domain::GatewayKeyId;
use switchboard_llm::{Answer, ChatRequest};

pub const MAX_ENTRIES: usize = 10_000;

#[derive(Clone, Debug)]
pub(super) struct Cached {
    pub answer: Answer,
    /// The route that produced it.
    pub route: String,
}

/// A cached answer and when it expires, by key and request fingerprint.
type Entries = HashMap<(GatewayKeyId, [u8; 32]), (Cached, Instant)>;

#[derive(Default)]
pub(super) struct ResponseCache {
    entries: Mutex<Entries>,
}

/// The cache key of a request to a model.
pub(super) fn fingerprint(model: &str, request: &ChatRequest) -> [u8; 32] {
    let mut request = request.clone();
    request.stream = false;
    let mut hasher = Sha256::new();
    hasher.update(model.as_bytes());
    hasher.update([0]);
    hasher.update(format!("{request:?}").as_bytes());
    hasher.finalize().into()
}

impl ResponseCache {
    pub(super) fn get(&self, key: GatewayKeyId, print: [u8; 32]) -> Option<Cached> {
        let entries = self.entries.lock().ok()?;
        let (cached, expires) = entries.get(&(key, print))?;
        (Instant::now() < *expires).then(|| cached.clone())
    }

    pub(super) fn put(&self, key: GatewayKeyId, print: [u8; 32], cached: Cached, ttl: Duration) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        let now = Instant::now();
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, (_, expires)| *expires > now);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert((key, print), (cached, now + ttl));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_llm::Message;

    fn request(text: &str) -> ChatRequest {
        ChatRequest {
            model: String::new(),
            system: None,
            messages: vec![Message::user(text)],
            tools: vec![],
            max_tokens: None,
            temperature: None,
            stream: true,
            ..ChatRequest::default()
        }
    }

    #[test]
    fn identical_requests_hit_until_they_expire() {
        let cache = ResponseCache::default();
        let key = GatewayKeyId(uuid::Uuid::nil());
        let print = fingerprint("local/m", &request("hi"));
        assert_ne!(print, fingerprint("local/m", &request("hi!")));
        assert_ne!(print, fingerprint("local/n", &request("hi")));
        let mut streamed = request("hi");
        streamed.stream = false;
        assert_eq!(
            print,
            fingerprint("local/m", &streamed),
            "stream flag ignored"
        );
        assert!(cache.get(key, print).is_none());
        let cached = Cached {
            answer: Answer {
                text: "hello".into(),
                ..Answer::default()
            },
            route: "local/m".into(),
        };
        cache.put(key, print, cached.clone(), Duration::from_secs(60));
        assert_eq!(cache.get(key, print).unwrap().answer.text, "hello");
        let other = GatewayKeyId(uuid::Uuid::from_u128(1));
        assert!(cache.get(other, print).is_none(), "per key");
        cache.put(key, print, cached, Duration::ZERO);
        assert!(cache.get(key, print).is_none(), "expired");
    }
}
