//! The fleet's rules that need no IO (DESIGN 4.9): a task's states and the moves between
//! them, how long a task waits before it is tried again, and which agents a task's target
//! selects (by id, or by labels every one of which the agent carries).
//!
//! A task lives `waiting_approval → queued → leased → succeeded | failed | dead`; a lease that
//! expires (the agent died or lost the hub) puts it back to `queued` with a backoff, or to
//! `dead` once `max_attempts` are used; `cancelled` ends anything not finished.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::policy::Tier;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    WaitingApproval,
    Queued,
    Leased,
    Succeeded,
    Failed,
    Dead,
    Cancelled,
}

impl TaskStatus {
    pub const ALL: [TaskStatus; 7] = [
        TaskStatus::WaitingApproval,
        TaskStatus::Queued,
        TaskStatus::Leased,
        TaskStatus::Succeeded,
        TaskStatus::Failed,
        TaskStatus::Dead,
        TaskStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::WaitingApproval => "waiting_approval",
            TaskStatus::Queued => "queued",
            TaskStatus::Leased => "leased",
            TaskStatus::Succeeded => "succeeded",
            TaskStatus::Failed => "failed",
            TaskStatus::Dead => "dead",
            TaskStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<TaskStatus> {
        TaskStatus::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Whether the task is over (nothing moves it any more).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            TaskStatus::Succeeded | TaskStatus::Failed | TaskStatus::Dead | TaskStatus::Cancelled
        )
    }

    /// Whether a task may move from `self` to `to`.
    pub fn can_move_to(self, to: TaskStatus) -> bool {
        use TaskStatus::*;
        match (self, to) {
            (WaitingApproval, Queued) => true,
            (Queued, Leased) => true,
            // A result, or an expired lease: again, or dead when no attempt is left.
            (Leased, Succeeded | Failed | Queued | Dead) => true,
            (from, Cancelled) => !from.is_final(),
            _ => false,
        }
    }
}

/// The executors an agent may have, with the tier of a task of that type: reads and checks
/// are T2; anything that changes a server is T3 (needs an admin's approval). A `composite`
/// task takes the highest tier of its steps.
pub const TASK_TYPES: &[(&str, Tier)] = &[
    ("echo", Tier::T2),
    ("http.check", Tier::T2),
    ("file.read", Tier::T2),
    ("env.read", Tier::T2),
    ("shell", Tier::T3),
    ("file.write", Tier::T3),
    ("env.update", Tier::T3),
    ("compose", Tier::T3),
    ("composite", Tier::T2),
];

/// The tier of a task type, if it is one.
pub fn task_tier(kind: &str) -> Option<Tier> {
    TASK_TYPES.iter().find(|(k, _)| *k == kind).map(|(_, t)| *t)
}

/// The first wait before a task whose lease expired is tried again.
pub const RETRY_BASE_SECS: i64 = 5;
/// The longest wait between attempts.
pub const RETRY_MAX_SECS: i64 = 600;

/// How long to wait before attempt `attempts + 1`, after `attempts` tries (≥ 1): 5 s, 10 s,
/// 20 s, … at most 10 minutes. The app adds jitter.
pub fn retry_delay_secs(attempts: u32) -> i64 {
    let doublings = attempts.saturating_sub(1).min(16);
    (RETRY_BASE_SECS << doublings).min(RETRY_MAX_SECS)
}

/// Labels of an agent, or a target's selector: `key = value`, keys and values of lower-case
/// letters, digits, `.`, `_` and `-` (1–63 characters, starting with a letter or digit).
pub type Labels = BTreeMap<String, String>;

/// Whether `s` may be a label key or value.
pub fn is_label_part(s: &str) -> bool {
    let mut chars = s.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    s.len() <= 63
        && (first.is_ascii_lowercase() || first.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
}

/// Parses `k=v` pairs (as given on a command line or in a form), checking each part.
pub fn parse_labels<'a>(pairs: impl IntoIterator<Item = &'a str>) -> Result<Labels, String> {
    let mut labels = Labels::new();
    for pair in pairs {
        let (k, v) = pair
            .split_once('=')
            .ok_or_else(|| format!("`{pair}` is not a label: write key=value"))?;
        let (k, v) = (k.trim(), v.trim());
        if !is_label_part(k) || !is_label_part(v) {
            return Err(format!(
                "`{pair}`: keys and values are 1–63 lower-case letters, digits, `.`, `_` or `-`"
            ));
        }
        labels.insert(k.to_owned(), v.to_owned());
    }
    if labels.len() > 32 {
        return Err("at most 32 labels".to_owned());
    }
    Ok(labels)
}

/// Whether an agent with `agent` labels is selected by `selector` (it carries every one; an
/// empty selector selects every agent of the organisation).
pub fn selects(selector: &Labels, agent: &Labels) -> bool {
    selector.iter().all(|(k, v)| agent.get(k) == Some(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_and_move_only_along_the_line() {
        for s in TaskStatus::ALL {
            assert_eq!(TaskStatus::parse(s.as_str()), Some(s));
        }
        use TaskStatus::*;
        assert!(WaitingApproval.can_move_to(Queued));
        assert!(Queued.can_move_to(Leased));
        assert!(Leased.can_move_to(Queued), "an expired lease goes back");
        assert!(Leased.can_move_to(Dead));
        assert!(
            !Queued.can_move_to(Succeeded),
            "only a leased task has a result"
        );
        assert!(!WaitingApproval.can_move_to(Leased), "approval comes first");
        assert!(Queued.can_move_to(Cancelled) && Leased.can_move_to(Cancelled));
        for done in [Succeeded, Failed, Dead, Cancelled] {
            assert!(done.is_final());
            assert!(
                TaskStatus::ALL.iter().all(|to| !done.can_move_to(*to)),
                "{done:?} is final"
            );
        }
    }

    #[test]
    fn changing_a_server_needs_approval_reading_does_not() {
        assert_eq!(task_tier("echo"), Some(Tier::T2));
        assert_eq!(task_tier("shell"), Some(Tier::T3));
        assert_eq!(task_tier("file.write"), Some(Tier::T3));
        assert_eq!(task_tier("rm -rf"), None);
    }

    #[test]
    fn retries_back_off_exponentially_up_to_a_cap() {
        assert_eq!(retry_delay_secs(1), 5);
        assert_eq!(retry_delay_secs(2), 10);
        assert_eq!(retry_delay_secs(4), 40);
        assert_eq!(retry_delay_secs(8), 600);
        assert_eq!(retry_delay_secs(u32::MAX), 600);
        assert_eq!(retry_delay_secs(0), 5);
    }

    #[test]
    fn labels_are_checked_and_select_agents_carrying_them_all() {
        let agent = parse_labels(["env=prod", "role=web", "site=ams-1"]).unwrap();
        assert!(selects(&parse_labels(["env=prod"]).unwrap(), &agent));
        assert!(selects(
            &parse_labels(["env=prod", "role=web"]).unwrap(),
            &agent
        ));
        assert!(!selects(
            &parse_labels(["env=prod", "role=db"]).unwrap(),
            &agent
        ));
        assert!(selects(&Labels::new(), &agent), "no selector: any agent");
        for bad in ["env", "Env=prod", "env=", "=prod", "env=pr od", "-x=y"] {
            assert!(parse_labels([bad]).is_err(), "{bad}");
        }
        assert!(!is_label_part(&"a".repeat(64)));
    }
}
