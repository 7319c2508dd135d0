//! The hash chain, pure: `hash = SHA-256(prev_hash || canonical JSON of the event)`, with a
//! chain starting from 32 zero bytes. Canonical JSON: an object with sorted keys and no
//! whitespace; timestamps as RFC 3339 UTC with microseconds; `details` embedded as the exact
//! text stored.

use chrono::SecondsFormat;
use sha2::{Digest, Sha256};
use switchboard_domain::{AuditEventId, OrgId};
use switchboard_store::AuditRecord;

/// The `prev_hash` of a chain's first event.
pub const GENESIS: [u8; 32] = [0; 32];

/// The canonical bytes of an event (everything but its own hashes).
pub fn canonical(record: &AuditRecord) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(256 + record.details.len());
    write_canonical(record, &mut bytes);
    bytes
}

pub fn link_hash(prev_hash: &[u8], record: &AuditRecord) -> Vec<u8> {
    let mut hasher = Sha256::new();
    hasher.update(prev_hash);
    write_canonical(record, &mut hasher);
    hasher.finalize().to_vec()
}

/// The event's fields in key order, so it serialises as the canonical object (sorted keys,
/// no whitespace) straight into the hasher, without building a JSON value first.
#[derive(serde::Serialize)]
struct Canonical<'a> {
    actor_id: &'a Option<String>,
    actor_kind: &'a str,
    at: String,
    decision: &'a Option<String>,
    details: &'a str,
    #[serde(serialize_with = "shown")]
    id: &'a AuditEventId,
    kind: &'a str,
    #[serde(serialize_with = "shown")]
    org_id: &'a OrgId,
    seq: i64,
    target: &'a Option<String>,
}

fn shown<T: std::fmt::Display, S: serde::Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(value)
}

fn write_canonical(record: &AuditRecord, out: &mut impl std::io::Write) {
    let fields = Canonical {
        actor_id: &record.actor_id,
        actor_kind: &record.actor_kind,
        at: record.at.to_rfc3339_opts(SecondsFormat::Micros, true),
        decision: &record.decision,
        details: &record.details,
        id: &record.id,
        kind: &record.kind,
        org_id: &record.org_id,
        seq: record.seq,
        target: &record.target,
    };
    // Neither writer fails (a Vec, a hasher) and every field serialises.
    let _ = serde_json::to_writer(out, &fields);
}

/// Why a link does not hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Break {
    /// `seq` is not one more than the previous event's (a row was removed or inserted).
    Gap { expected: i64 },
    /// `prev_hash` does not equal the previous event's hash.
    PrevHash,
    /// The stored hash does not match the event's content (the row was edited).
    Hash,
}

impl Break {
    pub fn describe(&self) -> String {
        match self {
            Break::Gap { expected } => format!("sequence gap: expected seq {expected}"),
            Break::PrevHash => "prev_hash does not match the previous event".to_owned(),
            Break::Hash => "hash does not match the event's content".to_owned(),
        }
    }
}

/// Checks one link given the previous event's `(seq, hash)`.
pub fn check(prev_seq: i64, prev_hash: &[u8], record: &AuditRecord) -> Result<(), Break> {
    if record.seq != prev_seq + 1 {
        return Err(Break::Gap {
            expected: prev_seq + 1,
        });
    }
    if record.prev_hash != prev_hash {
        return Err(Break::PrevHash);
    }
    if record.hash != link_hash(&record.prev_hash, record) {
        return Err(Break::Hash);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use switchboard_domain::{AuditEventId, ManualClock, OrgId};

    fn event(clock: &ManualClock, seq: i64, prev: &[u8]) -> AuditRecord {
        let mut r = AuditRecord {
            id: AuditEventId::generate(clock),
            org_id: OrgId::generate(clock),
            seq,
            at: chrono::Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
            actor_kind: "user".into(),
            actor_id: Some("u1".into()),
            kind: "auth.login".into(),
            target: None,
            decision: Some("ok".into()),
            details: r#"{"ip":"[IP_ADDRESS_1]"}"#.into(),
            prev_hash: prev.to_vec(),
            hash: Vec::new(),
        };
        r.hash = link_hash(prev, &r);
        r
    }

    #[test]
    fn a_valid_chain_checks_and_every_edit_breaks_it() {
        let clock = ManualClock::new(chrono::Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap());
        let first = event(&clock, 1, &GENESIS);
        let second = event(&clock, 2, &first.hash);
        assert_eq!(check(0, &GENESIS, &first), Ok(()));
        assert_eq!(check(1, &first.hash, &second), Ok(()));

        let mut edited = second.clone();
        edited.decision = Some("denied".into());
        assert_eq!(check(1, &first.hash, &edited), Err(Break::Hash));
        let mut edited = second.clone();
        edited.details = r#"{"ip":"10.0.0.1"}"#.into();
        assert_eq!(check(1, &first.hash, &edited), Err(Break::Hash));
        let mut relinked = second.clone();
        relinked.prev_hash = vec![1; 32];
        assert_eq!(check(1, &first.hash, &relinked), Err(Break::PrevHash));
        assert_eq!(check(0, &GENESIS, &second), Err(Break::Gap { expected: 1 }));
    }

    /// The rule the chain was first written with: a JSON object of the fields (sorted keys).
    fn canonical_as_json_value(record: &AuditRecord) -> Vec<u8> {
        serde_json::json!({
            "actor_id": record.actor_id,
            "actor_kind": record.actor_kind,
            "at": record.at.to_rfc3339_opts(SecondsFormat::Micros, true),
            "decision": record.decision,
            "details": record.details,
            "id": record.id.to_string(),
            "kind": record.kind,
            "org_id": record.org_id.to_string(),
            "seq": record.seq,
            "target": record.target,
        })
        .to_string()
        .into_bytes()
    }

    #[test]
    fn canonical_bytes_are_those_of_the_sorted_json_object() {
        let clock = ManualClock::new(chrono::Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap());
        let mut odd = event(&clock, 42, &GENESIS);
        odd.actor_id = None;
        odd.decision = None;
        odd.target = Some("tab\there \"quoted\" \\ ünïcode \u{1}".into());
        odd.details = r#"{"a":"line\nbreak","b":[1,2]}"#.into();
        for record in [event(&clock, 1, &GENESIS), odd] {
            assert_eq!(
                String::from_utf8(canonical(&record)).unwrap(),
                String::from_utf8(canonical_as_json_value(&record)).unwrap()
            );
            let expected: Vec<u8> = Sha256::new()
                .chain_update(GENESIS)
                .chain_update(canonical_as_json_value(&record))
                .finalize()
                .to_vec();
            assert_eq!(link_hash(&GENESIS, &record), expected);
        }
    }

    #[test]
    fn canonical_form_has_sorted_keys() {
        let clock = ManualClock::new(chrono::Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap());
        let text = String::from_utf8(canonical(&event(&clock, 1, &GENESIS))).unwrap();
        assert!(
            text.starts_with(
                r#"{"actor_id":"u1","actor_kind":"user","at":"2026-01-01T00:00:00.000000Z""#
            ),
            "{text}"
        );
    }
}
