//! The policy decision. Run: `cargo bench -p switchboard-domain --bench policy`
//!
//! `decide` for one call against an organisation with 40 tool settings and 25 glob rules
//! (the worst case walks every rule). Budget: <= 10 µs per decision. Baseline, measured in the
//! same run: looking the tool's settings up in the same map and comparing roles — the least
//! any decision must do. The summary prints the ratio to it.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion};
use switchboard_domain::policy::{decide, CallContext, ToolFacts};
use switchboard_domain::{Effect, OrgPolicy, Role, Rule, Tier, ToolSettings};

fn org() -> OrgPolicy {
    let mut tools = BTreeMap::new();
    for i in 0..40 {
        tools.insert(
            format!("system{i}.tool{i}"),
            ToolSettings {
                enabled: i % 7 != 0,
                tier: (i % 3 == 0).then_some(Tier::T3),
            },
        );
    }
    let effects = [Effect::Allow, Effect::Ask, Effect::Deny];
    let rules = (0..25)
        .map(|i| Rule {
            pattern: match i % 3 {
                0 => format!("n8n{i}.*"),
                1 => format!("*.delete_{i}"),
                _ => format!("tickets.?{i}*"),
            },
            effect: effects[i % 3],
        })
        .collect();
    OrgPolicy { tools, rules }
}

const TOOL: ToolFacts<'static> = ToolFacts {
    name: "workspace.tickets.create",
    tier: Tier::T2,
    min_role: Role::Member,
};

const CTX: CallContext = CallContext {
    role: Role::Admin,
    unattended: false,
    injection_suspected: false,
};

fn baseline(policy: &OrgPolicy) -> bool {
    let settings = policy.tools.get(TOOL.name).copied().unwrap_or_default();
    settings.enabled && CTX.role.at_least(TOOL.min_role)
}

fn benches(c: &mut Criterion) {
    let policy = org();
    c.bench_function("baseline_lookup", |b| {
        b.iter(|| baseline(black_box(&policy)))
    });
    c.bench_function("decide_25_rules", |b| {
        b.iter(|| decide(Some(black_box(TOOL)), black_box(&policy), black_box(&CTX)))
    });
}

fn median<F: FnMut()>(runs: usize, per_run: usize, mut f: F) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..per_run {
                f();
            }
            start.elapsed() / per_run as u32
        })
        .collect();
    times.sort_unstable();
    times[runs / 2]
}

#[allow(clippy::print_stdout, reason = "a benchmark reports to its terminal")]
fn summary() {
    let policy = org();
    let base = median(101, 10_000, || {
        black_box(baseline(black_box(&policy)));
    });
    let decision = median(101, 10_000, || {
        black_box(decide(
            Some(black_box(TOOL)),
            black_box(&policy),
            black_box(&CTX),
        ));
    });
    println!("\npolicy summary (40 tool settings, 25 glob rules)");
    println!("  baseline lookup  {:>8.3} µs", base.as_secs_f64() * 1e6);
    println!(
        "  decide           {:>8.3} µs  ({:.1}x the baseline; budget <= 10 µs: {})",
        decision.as_secs_f64() * 1e6,
        decision.as_secs_f64() / base.as_secs_f64().max(1e-12),
        if decision <= Duration::from_micros(10) {
            "OK"
        } else {
            "OVER BUDGET"
        }
    );
}

criterion_group!(group, benches);

fn main() {
    group();
    Criterion::default().configure_from_args().final_summary();
    summary();
}
