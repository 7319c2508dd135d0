//! The workspace's work items (DESIGN 4.8): requests — something a client asks for — and
//! tickets — something broken to fix. Both have a title, a description, a priority, comments
//! and a status that moves only along its kind's lines:
//!
//! - request: `submitted → under_review → in_progress → completed | cancelled` (review may be
//!   skipped; anything not finished may be cancelled);
//! - ticket: `open → in_progress → waiting_on_client → resolved → closed` (work and waiting
//!   alternate; a resolved ticket may be reopened; `closed` is final).

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    Request,
    Ticket,
}

impl ItemKind {
    pub const ALL: [ItemKind; 2] = [ItemKind::Request, ItemKind::Ticket];

    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::Request => "request",
            ItemKind::Ticket => "ticket",
        }
    }

    pub fn parse(s: &str) -> Option<ItemKind> {
        ItemKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Every status of this kind, in the order of a normal life.
    pub fn statuses(self) -> &'static [&'static str] {
        match self {
            ItemKind::Request => &[
                "submitted",
                "under_review",
                "in_progress",
                "completed",
                "cancelled",
            ],
            ItemKind::Ticket => &[
                "open",
                "in_progress",
                "waiting_on_client",
                "resolved",
                "closed",
            ],
        }
    }

    /// The status a new item starts in.
    pub fn initial_status(self) -> &'static str {
        self.statuses()[0]
    }

    pub fn is_status(self, status: &str) -> bool {
        self.statuses().contains(&status)
    }

    /// The work is done (the item counts as resolved from then on).
    pub fn is_done(self, status: &str) -> bool {
        match self {
            ItemKind::Request => matches!(status, "completed" | "cancelled"),
            ItemKind::Ticket => matches!(status, "resolved" | "closed"),
        }
    }

    /// Whether an item of this kind may go from `from` to `to`.
    pub fn can_move(self, from: &str, to: &str) -> bool {
        match self {
            ItemKind::Request => matches!(
                (from, to),
                ("submitted", "under_review" | "in_progress" | "cancelled")
                    | ("under_review", "in_progress" | "cancelled")
                    | ("in_progress", "completed" | "cancelled")
            ),
            ItemKind::Ticket => matches!(
                (from, to),
                (
                    "open",
                    "in_progress" | "waiting_on_client" | "resolved" | "closed"
                ) | ("in_progress", "waiting_on_client" | "resolved")
                    | ("waiting_on_client", "in_progress" | "resolved")
                    | ("resolved", "closed" | "in_progress")
            ),
        }
    }
}

/// How urgent an item is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    Medium,
    High,
    Critical,
}

impl Priority {
    pub const ALL: [Priority; 4] = [
        Priority::Low,
        Priority::Medium,
        Priority::High,
        Priority::Critical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Medium => "medium",
            Priority::High => "high",
            Priority::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Priority> {
        Priority::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// A project's life: `planned → active → completed`, with `on_hold` while paused and
/// `cancelled` from anything unfinished.
pub mod project {
    pub const STATUSES: [&str; 5] = ["planned", "active", "on_hold", "completed", "cancelled"];

    pub fn is_status(s: &str) -> bool {
        STATUSES.contains(&s)
    }

    pub fn can_move(from: &str, to: &str) -> bool {
        matches!(
            (from, to),
            ("planned", "active" | "cancelled")
                | ("active", "on_hold" | "completed" | "cancelled")
                | ("on_hold", "active" | "cancelled")
        )
    }
}

/// A milestone's state: `pending → in_progress → done` (a done milestone may be reopened).
/// Its progress is 0–100; `done` is 100.
pub mod milestone {
    pub const STATUSES: [&str; 3] = ["pending", "in_progress", "done"];

    pub fn is_status(s: &str) -> bool {
        STATUSES.contains(&s)
    }

    pub fn can_move(from: &str, to: &str) -> bool {
        matches!(
            (from, to),
            ("pending", "in_progress" | "done")
                | ("in_progress", "pending" | "done")
                | ("done", "in_progress")
        )
    }

    /// The progress a milestone shows in `status` when `asked` (if any) is given.
    pub fn progress(status: &str, asked: Option<u8>, current: u8) -> u8 {
        match status {
            "done" => 100,
            "pending" => asked.unwrap_or(0).min(99),
            _ => asked.unwrap_or(current).min(99),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for kind in ItemKind::ALL {
            assert_eq!(ItemKind::parse(kind.as_str()), Some(kind));
        }
        for p in Priority::ALL {
            assert_eq!(Priority::parse(p.as_str()), Some(p));
        }
        assert_eq!(ItemKind::parse("task"), None);
        assert_eq!(Priority::parse("urgent"), None);
        assert!(Priority::Critical > Priority::Low);
    }

    #[test]
    fn a_request_moves_along_its_lines() {
        let r = ItemKind::Request;
        assert_eq!(r.initial_status(), "submitted");
        for (from, to) in [
            ("submitted", "under_review"),
            ("under_review", "in_progress"),
            ("in_progress", "completed"),
            ("submitted", "in_progress"),
            ("under_review", "cancelled"),
        ] {
            assert!(r.can_move(from, to), "{from} → {to}");
        }
        for (from, to) in [
            ("completed", "in_progress"),
            ("cancelled", "submitted"),
            ("submitted", "completed"),
            ("in_progress", "submitted"),
            ("submitted", "open"),
        ] {
            assert!(!r.can_move(from, to), "{from} → {to}");
        }
        assert!(r.is_done("cancelled") && !r.is_done("in_progress"));
    }

    #[test]
    fn projects_and_milestones_move_along_their_lines() {
        assert!(project::can_move("planned", "active") && project::can_move("on_hold", "active"));
        assert!(
            !project::can_move("completed", "active") && !project::can_move("planned", "completed")
        );
        assert!(
            milestone::can_move("pending", "done") && milestone::can_move("done", "in_progress")
        );
        assert!(!milestone::can_move("done", "pending"));
        assert_eq!(milestone::progress("done", Some(10), 0), 100);
        assert_eq!(milestone::progress("in_progress", Some(150), 0), 99);
        assert_eq!(milestone::progress("in_progress", None, 40), 40);
        assert_eq!(milestone::progress("pending", None, 40), 0);
    }

    #[test]
    fn a_ticket_moves_along_its_lines() {
        let t = ItemKind::Ticket;
        assert_eq!(t.initial_status(), "open");
        for (from, to) in [
            ("open", "in_progress"),
            ("in_progress", "waiting_on_client"),
            ("waiting_on_client", "in_progress"),
            ("in_progress", "resolved"),
            ("resolved", "closed"),
            ("resolved", "in_progress"),
        ] {
            assert!(t.can_move(from, to), "{from} → {to}");
        }
        for (from, to) in [
            ("closed", "open"),
            ("closed", "in_progress"),
            ("resolved", "open"),
            ("open", "open"),
            ("open", "completed"),
        ] {
            assert!(!t.can_move(from, to), "{from} → {to}");
        }
        // Every status named in a move is one of the kind's own.
        for kind in ItemKind::ALL {
            for from in kind.statuses() {
                for to in kind.statuses() {
                    if kind.can_move(from, to) {
                        assert!(kind.is_status(from) && kind.is_status(to));
                    }
                }
            }
        }
        assert!(t.is_done("resolved") && !t.is_done("waiting_on_client"));
    }
}
