//! Tool tiers and the policy decision (DESIGN 4.2): for one call of one tool by one caller,
//! allow, ask a human, or deny — with the reason. A pure function of the tool, the caller's
//! role, the organisation's tool settings and rules, and whether a human is present.
//!
//! Decision order: unknown tool → deny; disabled by the organisation → deny; role below the
//! tool's minimum → deny; the organisation's rules matching the tool name (deny beats ask
//! beats allow; an `allow` never lowers T4, and never lowers what a human would have been
//! asked when no human is present); then the tier's default. A suspected prompt injection in
//! the conversation turns an allowed write (T2+) into "ask".

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::Role;

/// How risky a tool is. The derive order is the risk order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Tier {
    /// Reads data.
    T1,
    /// Reversible, internal writes (create a ticket, draft an email).
    T2,
    /// External effect or hard to undo: needs an admin's approval.
    T3,
    /// Destructive or privileged: needs the approval of an admin who is not the requester.
    T4,
}

impl Tier {
    pub const ALL: [Tier; 4] = [Tier::T1, Tier::T2, Tier::T3, Tier::T4];

    pub fn as_str(self) -> &'static str {
        match self {
            Tier::T1 => "T1",
            Tier::T2 => "T2",
            Tier::T3 => "T3",
            Tier::T4 => "T4",
        }
    }

    pub fn parse(s: &str) -> Option<Tier> {
        Tier::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a rule (or a tier's default) says about a call. The derive order is the strength
/// order: deny beats ask beats allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    Allow,
    Ask,
    Deny,
}

impl Effect {
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Allow => "allow",
            Effect::Ask => "ask",
            Effect::Deny => "deny",
        }
    }
}

/// An organisation's rule: tools whose name matches `pattern` (`*` any run of characters,
/// `?` one character; e.g. `n8n.*`) get `effect`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub pattern: String,
    pub effect: Effect,
}

/// An organisation's settings for one tool.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolSettings {
    #[serde(default = "enabled")]
    pub enabled: bool,
    /// A higher tier than the tool's own (a lower one is ignored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<Tier>,
}

fn enabled() -> bool {
    true
}

impl Default for ToolSettings {
    fn default() -> Self {
        ToolSettings {
            enabled: true,
            tier: None,
        }
    }
}

/// Everything an organisation decides about tools.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgPolicy {
    #[serde(default)]
    pub tools: BTreeMap<String, ToolSettings>,
    #[serde(default)]
    pub rules: Vec<Rule>,
}

/// The tool being called, as the registry defines it.
#[derive(Clone, Copy, Debug)]
pub struct ToolFacts<'a> {
    pub name: &'a str,
    pub tier: Tier,
    pub min_role: Role,
}

/// Who is calling, and how.
#[derive(Clone, Copy, Debug)]
pub struct CallContext {
    pub role: Role,
    /// No human is present (triage, schedules, webhooks): nothing a human would have been
    /// asked is allowed by a rule.
    pub unattended: bool,
    /// The conversation carries a suspected prompt injection.
    pub injection_suspected: bool,
}

/// The outcome, with the tier that applied and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Allow {
        tier: Tier,
        reason: String,
    },
    /// A human with at least `approver` must approve; with `four_eyes`, not the requester.
    Ask {
        tier: Tier,
        approver: Role,
        four_eyes: bool,
        reason: String,
    },
    Deny {
        reason: String,
    },
}

impl Decision {
    pub fn effect(&self) -> Effect {
        match self {
            Decision::Allow { .. } => Effect::Allow,
            Decision::Ask { .. } => Effect::Ask,
            Decision::Deny { .. } => Effect::Deny,
        }
    }

    pub fn reason(&self) -> &str {
        match self {
            Decision::Allow { reason, .. }
            | Decision::Ask { reason, .. }
            | Decision::Deny { reason } => reason,
        }
    }
}

/// Where an approval request stands: `pending`, then `approved`, `denied` or `expired` (an
/// expiry is a denial), then after running `executed` or `failed`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalStatus {
    Pending,
    Approved,
    Denied,
    Expired,
    Executed,
    Failed,
}

impl ApprovalStatus {
    pub const ALL: [ApprovalStatus; 6] = [
        ApprovalStatus::Pending,
        ApprovalStatus::Approved,
        ApprovalStatus::Denied,
        ApprovalStatus::Expired,
        ApprovalStatus::Executed,
        ApprovalStatus::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalStatus::Pending => "pending",
            ApprovalStatus::Approved => "approved",
            ApprovalStatus::Denied => "denied",
            ApprovalStatus::Expired => "expired",
            ApprovalStatus::Executed => "executed",
            ApprovalStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<ApprovalStatus> {
        ApprovalStatus::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// Whether `name` matches a glob of `*` (any run, also empty) and `?` (one character).
pub fn glob_match(pattern: &str, name: &str) -> bool {
    if pattern.is_ascii() && name.is_ascii() {
        // Tool names and validated patterns are ASCII: no allocation on the hot path.
        glob(pattern.as_bytes(), name.as_bytes(), b'*', b'?')
    } else {
        let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
        glob(&p, &n, '*', '?')
    }
}

/// Iterative wildcard matching with backtracking to the last `*` (linear in practice).
fn glob<T: PartialEq + Copy>(p: &[T], n: &[T], star_sym: T, any: T) -> bool {
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        match p.get(pi) {
            Some(c) if *c == star_sym => {
                star = Some((pi, ni));
                pi += 1;
            }
            Some(c) if *c == any || *c == n[ni] => {
                pi += 1;
                ni += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    pi = sp + 1;
                    ni = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|c| *c == star_sym)
}

fn ask(tier: Tier, reason: String) -> Decision {
    Decision::Ask {
        tier,
        approver: Role::Admin,
        four_eyes: tier == Tier::T4,
        reason,
    }
}

/// The policy decision for one call. `tool` is `None` for a name the registry does not know.
pub fn decide(tool: Option<ToolFacts<'_>>, org: &OrgPolicy, ctx: &CallContext) -> Decision {
    let Some(tool) = tool else {
        return Decision::Deny {
            reason: "unknown tool".to_owned(),
        };
    };
    let settings = org.tools.get(tool.name).copied().unwrap_or_default();
    if !settings.enabled {
        return Decision::Deny {
            reason: format!("{} is disabled in this organisation", tool.name),
        };
    }
    if !ctx.role.at_least(tool.min_role) {
        return Decision::Deny {
            reason: format!("{} needs the {} role", tool.name, tool.min_role),
        };
    }
    let tier = settings
        .tier
        .map_or(tool.tier, |raised| raised.max(tool.tier));
    let default = match tier {
        Tier::T1 => Effect::Allow,
        Tier::T2 if ctx.role.at_least(Role::Member) => Effect::Allow,
        Tier::T2 => {
            return Decision::Deny {
                reason: format!("{tier} tools need the member role"),
            }
        }
        Tier::T3 | Tier::T4 => Effect::Ask,
    };
    let rule = org
        .rules
        .iter()
        .filter(|r| glob_match(&r.pattern, tool.name))
        .max_by_key(|r| r.effect);
    let (effect, why) = match rule {
        Some(r) if r.effect == Effect::Deny => {
            return Decision::Deny {
                reason: format!("denied by the rule `{}`", r.pattern),
            }
        }
        Some(r) if r.effect == Effect::Allow && default == Effect::Ask => {
            if tier == Tier::T4 {
                (Effect::Ask, format!("{tier} always needs approval"))
            } else if ctx.unattended {
                (
                    Effect::Ask,
                    format!("{tier} needs approval when no one is present"),
                )
            } else {
                (
                    Effect::Allow,
                    format!("allowed by the rule `{}`", r.pattern),
                )
            }
        }
        Some(r) if r.effect == Effect::Ask => {
            (Effect::Ask, format!("the rule `{}` asks", r.pattern))
        }
        _ if default == Effect::Ask => (Effect::Ask, format!("{tier} needs approval")),
        _ => (Effect::Allow, format!("{tier} is allowed for {}", ctx.role)),
    };
    match effect {
        Effect::Allow if ctx.injection_suspected && tier >= Tier::T2 => ask(
            tier,
            "a suspected prompt injection in this conversation".to_owned(),
        ),
        Effect::Allow => Decision::Allow { tier, reason: why },
        _ => ask(tier, why),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tool(name: &str, tier: Tier) -> ToolFacts<'_> {
        ToolFacts {
            name,
            tier,
            min_role: Role::Viewer,
        }
    }

    fn ctx(role: Role) -> CallContext {
        CallContext {
            role,
            unattended: false,
            injection_suspected: false,
        }
    }

    fn rules(list: &[(&str, Effect)]) -> OrgPolicy {
        OrgPolicy {
            tools: BTreeMap::new(),
            rules: list
                .iter()
                .map(|(p, e)| Rule {
                    pattern: (*p).to_owned(),
                    effect: *e,
                })
                .collect(),
        }
    }

    #[test]
    fn globs_match_names() {
        assert!(glob_match("n8n.*", "n8n.run_workflow"));
        assert!(glob_match("*", "anything"));
        assert!(glob_match("*.delete", "tickets.delete"));
        assert!(glob_match("a?c", "abc"));
        assert!(glob_match("a*b*c", "a-x-b-y-c"));
        assert!(!glob_match("n8n.*", "n8n"));
        assert!(!glob_match("a?c", "ac"));
        assert!(!glob_match("tickets", "tickets.list"));
        assert!(glob_match("", ""));
        assert!(!glob_match("", "x"));
        assert!(
            glob_match("zü?ich.*", "zürich.read"),
            "non-ASCII names match by character"
        );
    }

    #[test]
    fn tier_defaults() {
        let none = OrgPolicy::default();
        let d = decide(Some(tool("a", Tier::T1)), &none, &ctx(Role::Viewer));
        assert_eq!(d.effect(), Effect::Allow);
        let d = decide(Some(tool("a", Tier::T2)), &none, &ctx(Role::Viewer));
        assert_eq!(d.effect(), Effect::Deny);
        let d = decide(Some(tool("a", Tier::T2)), &none, &ctx(Role::Member));
        assert_eq!(d.effect(), Effect::Allow);
        match decide(Some(tool("a", Tier::T3)), &none, &ctx(Role::Owner)) {
            Decision::Ask {
                approver,
                four_eyes,
                ..
            } => assert_eq!((approver, four_eyes), (Role::Admin, false)),
            other => panic!("{other:?}"),
        }
        match decide(Some(tool("a", Tier::T4)), &none, &ctx(Role::Owner)) {
            Decision::Ask { four_eyes, .. } => assert!(four_eyes),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            decide(None, &none, &ctx(Role::Owner)),
            Decision::Deny {
                reason: "unknown tool".into()
            }
        );
    }

    #[test]
    fn roles_and_settings_come_first() {
        let mut policy = rules(&[("*", Effect::Allow)]);
        let admin_only = ToolFacts {
            name: "audit.search",
            tier: Tier::T1,
            min_role: Role::Admin,
        };
        let d = decide(Some(admin_only), &policy, &ctx(Role::Member));
        assert_eq!(d.reason(), "audit.search needs the admin role");
        policy.tools.insert(
            "audit.search".into(),
            ToolSettings {
                enabled: false,
                tier: None,
            },
        );
        let d = decide(Some(admin_only), &policy, &ctx(Role::Owner));
        assert!(d.reason().contains("disabled"), "{d:?}");
    }

    #[test]
    fn deny_beats_ask_beats_allow() {
        let policy = rules(&[
            ("n8n.*", Effect::Allow),
            ("n8n.run*", Effect::Ask),
            ("n8n.run_payroll", Effect::Deny),
        ]);
        let member = ctx(Role::Member);
        assert_eq!(
            decide(Some(tool("n8n.list", Tier::T2)), &policy, &member).effect(),
            Effect::Allow
        );
        let d = decide(Some(tool("n8n.run_report", Tier::T2)), &policy, &member);
        assert_eq!(
            (d.effect(), d.reason()),
            (Effect::Ask, "the rule `n8n.run*` asks")
        );
        let d = decide(Some(tool("n8n.run_payroll", Tier::T1)), &policy, &member);
        assert_eq!(d.effect(), Effect::Deny);
    }

    #[test]
    fn allow_rules_never_lower_t4_or_act_for_an_absent_human() {
        let policy = rules(&[("*", Effect::Allow)]);
        let owner = ctx(Role::Owner);
        assert_eq!(
            decide(Some(tool("x", Tier::T3)), &policy, &owner).effect(),
            Effect::Allow
        );
        assert_eq!(
            decide(Some(tool("x", Tier::T4)), &policy, &owner).effect(),
            Effect::Ask
        );
        let unattended = CallContext {
            unattended: true,
            ..owner
        };
        assert_eq!(
            decide(Some(tool("x", Tier::T3)), &policy, &unattended).effect(),
            Effect::Ask
        );
        assert_eq!(
            decide(Some(tool("x", Tier::T1)), &policy, &unattended).effect(),
            Effect::Allow
        );
    }

    #[test]
    fn organisations_raise_tiers_but_never_lower_them() {
        let mut policy = OrgPolicy::default();
        policy.tools.insert(
            "x".into(),
            ToolSettings {
                enabled: true,
                tier: Some(Tier::T3),
            },
        );
        policy.tools.insert(
            "y".into(),
            ToolSettings {
                enabled: true,
                tier: Some(Tier::T1),
            },
        );
        let owner = ctx(Role::Owner);
        match decide(Some(tool("x", Tier::T1)), &policy, &owner) {
            Decision::Ask { tier, .. } => assert_eq!(tier, Tier::T3),
            other => panic!("{other:?}"),
        }
        match decide(Some(tool("y", Tier::T4)), &policy, &owner) {
            Decision::Ask { tier, .. } => assert_eq!(tier, Tier::T4),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn suspected_injection_turns_allowed_writes_into_asks() {
        let suspicious = CallContext {
            injection_suspected: true,
            ..ctx(Role::Owner)
        };
        let none = OrgPolicy::default();
        assert_eq!(
            decide(Some(tool("read", Tier::T1)), &none, &suspicious).effect(),
            Effect::Allow
        );
        let d = decide(Some(tool("write", Tier::T2)), &none, &suspicious);
        assert_eq!(d.effect(), Effect::Ask);
        assert!(d.reason().contains("injection"));
    }

    #[test]
    fn policies_read_from_json() {
        let policy: OrgPolicy = serde_json::from_str(
            r#"{"tools": {"a": {"enabled": false}, "b": {"tier": "T3"}},
                "rules": [{"pattern": "n8n.*", "effect": "ask"}]}"#,
        )
        .unwrap();
        assert!(!policy.tools["a"].enabled);
        assert_eq!(policy.tools["b"].tier, Some(Tier::T3));
        assert_eq!(policy.rules[0].effect, Effect::Ask);
        assert!(serde_json::from_str::<OrgPolicy>(
            r#"{"rules": [{"pattern": "x", "effect": "maybe"}]}"#
        )
        .is_err());
    }
}
