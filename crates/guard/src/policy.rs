//! What to do with each kind of finding, per organisation.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Kind;

/// The action taken on a finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Replace with a placeholder such as `[EMAIL_1]`, stable within a conversation.
    Redact,
    /// Replace most characters with `*`, keeping a hint (last digits, domain).
    Mask,
    /// Refuse the whole text with `content_blocked`, naming the kind.
    Block,
    /// Leave the text alone; record the finding for the audit log.
    Flag,
    /// Ignore the kind.
    Off,
}

impl Action {
    pub const ALL: [Action; 5] = [
        Action::Redact,
        Action::Mask,
        Action::Block,
        Action::Flag,
        Action::Off,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Redact => "redact",
            Action::Mask => "mask",
            Action::Block => "block",
            Action::Flag => "flag",
            Action::Off => "off",
        }
    }

    pub fn parse(s: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// An organisation's guard policy: one action per kind, plus whether placeholders in answers
/// are turned back into the original values before a person sees them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    actions: BTreeMap<Kind, Action>,
    #[serde(default)]
    pub restore_in_answers: bool,
}

impl Default for Policy {
    /// Personal data and credentials are redacted; injection markers are flagged.
    fn default() -> Self {
        let actions = Kind::ALL
            .into_iter()
            .map(|kind| {
                (
                    kind,
                    if kind == Kind::Injection {
                        Action::Flag
                    } else {
                        Action::Redact
                    },
                )
            })
            .collect();
        Policy {
            actions,
            restore_in_answers: true,
        }
    }
}

impl Policy {
    /// Every kind set to the same action.
    pub fn uniform(action: Action) -> Policy {
        Policy {
            actions: Kind::ALL.into_iter().map(|k| (k, action)).collect(),
            restore_in_answers: false,
        }
    }

    pub fn action(&self, kind: Kind) -> Action {
        self.actions.get(&kind).copied().unwrap_or(Action::Redact)
    }

    pub fn set(&mut self, kind: Kind, action: Action) -> &mut Policy {
        self.actions.insert(kind, action);
        self
    }

    pub fn with(mut self, kind: Kind, action: Action) -> Policy {
        self.set(kind, action);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_redact_data_and_flag_injection() {
        let policy = Policy::default();
        assert_eq!(policy.action(Kind::Email), Action::Redact);
        assert_eq!(policy.action(Kind::ApiKey), Action::Redact);
        assert_eq!(policy.action(Kind::Injection), Action::Flag);
        let custom = Policy::default().with(Kind::ApiKey, Action::Block);
        assert_eq!(custom.action(Kind::ApiKey), Action::Block);
    }

    #[test]
    fn policies_serialise_by_kind_name() {
        let json = serde_json::to_value(Policy::uniform(Action::Mask)).unwrap();
        assert_eq!(json["actions"]["payment_card"], "mask");
        let back: Policy = serde_json::from_value(json).unwrap();
        assert_eq!(back.action(Kind::Iban), Action::Mask);
    }

    #[test]
    fn action_names_match_their_serialised_form() {
        for action in Action::ALL {
            let json = serde_json::to_value(action).unwrap();
            assert_eq!(json, action.as_str());
            assert_eq!(Action::parse(action.as_str()), Some(action));
        }
        assert_eq!(Action::parse("shred"), None);
    }
}
