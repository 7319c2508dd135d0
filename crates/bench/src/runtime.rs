//! `switchboard-bench runtime`: what the assistant runtime adds to a turn, beyond the
//! model's own time, measured in one run against the fake provider answering at once.
//!
//! A turn is one message posted to `POST /api/v1/conversations/{id}/messages` and its event
//! stream read to `done`: the run is created and persisted, the model called through the
//! gateway's accounting (guard on prompt and answer, usage record, audit event), each tool
//! call decided by policy, run, guarded, wrapped, audited and persisted, every event stored
//! and streamed. The baseline is the same model requests — the exact bodies the runtime sent,
//! recorded by the fake provider — sent straight to the provider, streamed, in the same run.
//! Overhead per turn = turn time − baseline time of its model calls.

use std::time::Instant;

use serde_json::{json, Value};
use switchboard_fake_llm::Script;

use switchboard_app::identity::{Credential, Principal};
use switchboard_app::runtime::Followed;
use switchboard_domain::{RunId, SystemClock};

use crate::{boot, percentile, sorted};

struct Shape {
    label: &'static str,
    /// The model's answers for one turn, in order.
    scripts: fn() -> Vec<Script>,
}

const SHAPES: &[Shape] = &[
    Shape {
        label: "answer only (1 model call)",
        scripts: || vec![Script::text("Olivia owns Bench and is its only member.")],
    },
    Shape {
        label: "one tool call (2 model calls, org.members)",
        scripts: || {
            vec![
                Script::tool_call("org__members", json!({})),
                Script::text("Bench has one member."),
            ]
        },
    },
];

async fn turn(b: &crate::Booted, conversation: &str) -> Result<f64, String> {
    let started = Instant::now();
    let response = b
        .client
        .post(format!(
            "{}/api/v1/conversations/{conversation}/messages",
            b.hub
        ))
        .header("cookie", &b.cookie)
        .header("x-csrf-token", &b.csrf)
        .json(&json!({"content": "Who is in this organisation?"}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let text = response.text().await.map_err(|e| e.to_string())?;
    let elapsed = started.elapsed().as_secs_f64() * 1000.0;
    if !text.contains("\"status\":\"completed\"") {
        return Err(format!("a turn did not complete: {text}"));
    }
    Ok(elapsed)
}

/// A turn without HTTP: the runtime's services called in this process, the events read from
/// the run's follower to `done`.
async fn turn_in_process(b: &crate::Booted, principal: &Principal) -> Result<f64, String> {
    let conversation = b
        .app
        .create_conversation(principal, None, Some("workspace".to_owned()))
        .await
        .map_err(|e| e.to_string())?;
    let id = conversation.id.parse().map_err(|_| "conversation id")?;
    let started = Instant::now();
    let (_, mut follower) = b
        .app
        .post_message(principal, id, "Who is in this organisation?", None)
        .await
        .map_err(|e| e.to_string())?;
    let mut last = None;
    while let Some(event) = follower.next().await {
        if let Followed::Event(e) = event {
            last = Some(e);
        }
    }
    let elapsed = started.elapsed().as_secs_f64() * 1000.0;
    match last {
        Some(e) if e.event == "done" && e.data["status"] == "completed" => Ok(elapsed),
        other => Err(format!("an in-process turn did not complete: {other:?}")),
    }
}

/// The recorded bodies sent straight to the provider, streamed to the end.
async fn direct(b: &crate::Booted, bodies: &[Value]) -> Result<f64, String> {
    let started = Instant::now();
    for body in bodies {
        let response = b
            .client
            .post(format!("{}/v1/chat/completions", b.upstream))
            .bearer_auth("bench")
            .json(body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        response.bytes().await.map_err(|e| e.to_string())?;
    }
    Ok(started.elapsed().as_secs_f64() * 1000.0)
}

/// A new conversation (turns are measured in short conversations, as people have them).
async fn conversation(b: &crate::Booted) -> Result<String, String> {
    let conversation: Value = b
        .client
        .post(format!("{}/api/v1/conversations", b.hub))
        .header("cookie", &b.cookie)
        .header("x-csrf-token", &b.csrf)
        .json(&json!({"agent": "workspace"}))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    Ok(conversation["id"]
        .as_str()
        .ok_or("no conversation")?
        .to_owned())
}

/// One turn, over HTTP or (with a principal) in process.
async fn one(b: &crate::Booted, principal: Option<&Principal>) -> Result<f64, String> {
    match principal {
        Some(p) => turn_in_process(b, p).await,
        None => turn(b, &conversation(b).await?).await,
    }
}

/// The owner, as the runtime's services see them.
async fn owner(b: &crate::Booted) -> Result<Principal, String> {
    let org = crate::bench_org(&b.app).await?;
    let user = b
        .app
        .store
        .memberships
        .list_for_org(org.id)
        .await
        .map_err(|e| e.to_string())?
        .first()
        .map(|m| m.user_id)
        .ok_or("no owner")?;
    let credential = Credential::Run(RunId::generate(&SystemClock));
    b.app
        .identity
        .member_principal(org.id, user, credential)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| "no principal".to_owned())
}

async fn measure(
    b: &crate::Booted,
    shape: &Shape,
    turns: usize,
    principal: Option<&Principal>,
) -> Result<(), String> {
    // A few turns to warm up.
    for _ in 0..5 {
        for s in (shape.scripts)() {
            b.fake.script(s);
        }
        one(b, principal).await?;
    }
    let calls = (shape.scripts)().len();
    let mut with = Vec::with_capacity(turns);
    let mut without = Vec::with_capacity(turns);
    let mut overhead = Vec::with_capacity(turns);
    for _ in 0..turns {
        for s in (shape.scripts)() {
            b.fake.script(s);
        }
        let seen = b.fake.request_count();
        let total = one(b, principal).await?;
        // The exact requests the runtime sent, for the baseline.
        let bodies: Vec<Value> = b
            .fake
            .requests_since(seen)
            .into_iter()
            .map(|r| r.body)
            .collect();
        if bodies.len() != calls {
            return Err(format!(
                "expected {calls} model calls, saw {}",
                bodies.len()
            ));
        }
        for s in (shape.scripts)() {
            b.fake.script(s);
        }
        let baseline = direct(b, &bodies).await?;
        with.push(total);
        without.push(baseline);
        overhead.push((total - baseline).max(0.0));
    }
    let (with, without, overhead) = (sorted(with), sorted(without), sorted(overhead));
    let calls = calls as f64;
    println!("{}", shape.label);
    println!(
        "  turn through the runtime   p50 {:>7.2} ms   p99 {:>7.2} ms",
        percentile(&with, 50.0),
        percentile(&with, 99.0)
    );
    println!(
        "  same model calls, direct   p50 {:>7.2} ms   p99 {:>7.2} ms",
        percentile(&without, 50.0),
        percentile(&without, 99.0)
    );
    println!(
        "  runtime overhead           p50 {:>7.2} ms   p99 {:>7.2} ms   (ratio of p50s {:.1}x)",
        percentile(&overhead, 50.0),
        percentile(&overhead, 99.0),
        percentile(&with, 50.0) / percentile(&without, 50.0).max(1e-9)
    );
    println!(
        "  per model call (step)      p50 {:>7.2} ms   p99 {:>7.2} ms   (budget 5 ms)\n",
        percentile(&overhead, 50.0) / calls,
        percentile(&overhead, 99.0) / calls,
    );
    Ok(())
}

pub(crate) async fn run(postgres: bool, turns: usize) -> Result<(), String> {
    let b = boot(postgres).await?;
    println!(
        "switchboard-bench runtime — {}, fake provider on loopback answering at once",
        b.backend
    );
    println!(
        "(run persisted, policy, tool, guard, usage + audit, every event stored and streamed)"
    );
    println!(
        "reproduce: cargo run --release -p switchboard-bench -- runtime{} --turns {turns}\n",
        if postgres { " --database postgres" } else { "" }
    );
    let principal = owner(&b).await?;
    println!("== over HTTP (POST + SSE to a client, sign-in checks included)\n");
    for shape in SHAPES {
        measure(&b, shape, turns, None).await?;
    }
    println!("== in process (the runtime's services and the run's follower, no HTTP)\n");
    for shape in SHAPES {
        measure(&b, shape, turns, Some(&principal)).await?;
    }
    b.app
        .workers
        .shutdown(std::time::Duration::from_secs(10))
        .await;
    drop(b.db);
    Ok(())
}
