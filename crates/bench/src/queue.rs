//! `switchboard-bench queue`: the fleet task queue end to end over HTTP on loopback —
//! enqueue (`POST /api/v1/fleet/tasks`, through the governed `fleet.run` tool) → claim
//! (`POST /api/v1/agent/claim` by one of 100 simulated agents, each with its own credentials)
//! → complete (`POST /api/v1/agent/tasks/{id}/result`), all three running at once. As
//! `switchboard-agent` does, a result carries the agent's next claim (`--chained no`: a claim
//! of its own after every result).
//!
//! Every task is two HTTP round trips (three unchained) and three database transactions
//! (queued, leased, succeeded; each with its history event and audit event). The baseline,
//! measured in the same run by the same clients, is as many round trips per task to `GET
//! /healthz` (HTTP, routing and the middleware stack without any work): the ratio says how much
//! of the queue's time is the queue itself.
//!
//! An agent claims only while some task is not yet promised to another agent's claim, so the
//! run ends with the last result and not with claims waiting for tasks that will not come.
//!
//! Usage: `switchboard-bench queue [--database sqlite|postgres] [--tasks N] [--agents N]
//! [--producers N (32)] [--phased yes] [--chained no]` (`--phased yes`: queue every task first,
//! then drain the queue — the enqueue rate and the claim-and-complete rate on their own).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use switchboard_protocol::{
    AgentIdentity, ClaimRequest, ClaimResponse, LeasedTask, RegisterRequest, Registered,
    ResultResponse, TaskResult, AGENT_ID_HEADER, AGENT_SECRET_HEADER,
};

use crate::{boot, percentile, sorted, Booted};

pub(crate) struct QueueOptions {
    pub postgres: bool,
    pub tasks: u64,
    pub agents: usize,
    pub producers: usize,
    /// Queue every task first, then let the agents drain the queue (two rates instead of one).
    pub phased: bool,
    /// Results carry the next claim (as `switchboard-agent` sends them).
    pub chained: bool,
}

impl QueueOptions {
    pub(crate) fn parse(args: &[String]) -> Result<Self, String> {
        let mut options = QueueOptions {
            postgres: false,
            tasks: 10_000,
            agents: 100,
            // Enough concurrent enqueues to keep the queue busy: with 16 the rate was bounded
            // by the producers' round trips (24–48 gave the same higher rate; 64 less, as
            // tasks then wait in the queue instead of going straight to a waiting claim).
            producers: 32,
            phased: false,
            chained: true,
        };
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            let value = it.next().ok_or(format!("{flag} needs a value"))?;
            let number = || {
                value
                    .parse::<u64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or(format!("{flag}: a positive number"))
            };
            match flag.as_str() {
                "--database" => options.postgres = value == "postgres",
                "--tasks" => options.tasks = number()?,
                "--agents" => options.agents = number()? as usize,
                "--producers" => options.producers = number()? as usize,
                "--phased" => options.phased = value == "yes",
                "--chained" => options.chained = value != "no",
                other => return Err(format!("unknown flag {other}")),
            }
        }
        Ok(options)
    }
}

struct Agent {
    id: String,
    secret: String,
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

async fn register(b: &Booted, token: &str, n: usize) -> Result<Agent, String> {
    let request = RegisterRequest {
        token: token.to_owned(),
        name: format!("bench-{n:03}"),
        host: format!("bench-{n:03}.local"),
        labels: [("role".to_owned(), "bench".to_owned())].into(),
        identity: AgentIdentity::current("bench"),
    };
    let response = b
        .client
        .post(format!("{}/api/v1/agent/register", b.hub))
        .json(&request)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if response.status().as_u16() != 201 {
        return Err(format!("register: {}", response.status()));
    }
    let registered: Registered = response.json().await.map_err(|e| e.to_string())?;
    Ok(Agent {
        id: registered.agent_id,
        secret: registered.secret,
    })
}

/// An agent's request with its credentials; a status other than 2xx is an error.
async fn as_agent<B: serde::Serialize>(
    b: &Booted,
    agent: &Agent,
    path: &str,
    body: &B,
) -> Result<reqwest::Response, String> {
    let response = b
        .client
        .post(format!("{}{path}", b.hub))
        .header(AGENT_ID_HEADER, &agent.id)
        .header(AGENT_SECRET_HEADER, &agent.secret)
        .json(body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(response.status().to_string());
    }
    Ok(response)
}

/// The HTTP floor: `clients` loops sharing `total` requests to `/healthz`; requests per second.
async fn baseline(b: &Booted, clients: usize, total: u64) -> Result<f64, String> {
    let left = Arc::new(AtomicU64::new(total));
    let started = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..clients {
        let (client, url, left) = (b.client.clone(), format!("{}/healthz", b.hub), left.clone());
        #[allow(
            clippy::disallowed_methods,
            reason = "load generator tasks end with the run"
        )]
        handles.push(tokio::spawn(async move {
            while take_one(&left) {
                let ok = client
                    .get(&url)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success());
                if !ok {
                    return Err("healthz failed".to_owned());
                }
            }
            Ok(())
        }));
    }
    for h in handles {
        h.await.map_err(|e| e.to_string())??;
    }
    Ok(total as f64 / started.elapsed().as_secs_f64())
}

#[derive(Default)]
struct Latencies {
    enqueue: Vec<f64>,
    claim: Vec<f64>,
    complete: Vec<f64>,
    /// Results that carried the next claim: recorded, then the next task leased.
    complete_and_claim: Vec<f64>,
}

/// Takes one from `left` if anything is left.
fn take_one(left: &AtomicU64) -> bool {
    left.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
        .is_ok()
}

pub(crate) async fn run(options: QueueOptions) -> Result<(), String> {
    let b = boot(options.postgres).await?;
    b.app.start_fleet();
    println!(
        "switchboard-bench queue — {}, {} agents over HTTP on loopback, {} producers, {} tasks, \
         {}\n",
        b.backend,
        options.agents,
        options.producers,
        options.tasks,
        if options.chained {
            "results carrying the next claim"
        } else {
            "a claim of its own after each result"
        }
    );
    let round_trips = if options.chained { 2 } else { 3 };

    // A registration token for every simulated agent, and the agents.
    let token: Value = b
        .client
        .post(format!("{}/api/v1/fleet/registration-tokens", b.hub))
        .header("cookie", &b.cookie)
        .header("x-csrf-token", &b.csrf)
        .json(&json!({"name": "bench", "max_uses": options.agents}))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let token = token["token"]
        .as_str()
        .ok_or(format!("no registration token: {token}"))?
        .to_owned();
    let mut agents = Vec::with_capacity(options.agents);
    for n in 0..options.agents {
        agents.push(register(&b, &token, n).await?);
    }

    // Baseline: the same number of round trips per task to an endpoint that does nothing.
    let clients = options.agents + options.producers;
    baseline(&b, clients, 2_000).await?; // warm-up
    let floor = baseline(&b, clients, options.tasks * round_trips).await?;

    let b = Arc::new(b);
    let completed = Arc::new(AtomicU64::new(0));
    let to_enqueue = Arc::new(AtomicU64::new(options.tasks));
    // Tasks no claim has been promised yet: a claim takes one first (and gives it back when it
    // comes back empty).
    let unpromised = Arc::new(AtomicU64::new(options.tasks));
    let started = Instant::now();
    // When the last task completed (the agents' last, empty claims are not counted).
    let finished = Arc::new(std::sync::OnceLock::<Duration>::new());
    let mut producers = Vec::new();
    for _ in 0..options.producers {
        let (b, left) = (b.clone(), to_enqueue.clone());
        #[allow(
            clippy::disallowed_methods,
            reason = "load generator tasks end with the run"
        )]
        producers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while let Ok(n) =
                left.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            {
                let at = Instant::now();
                let response = b
                    .client
                    .post(format!("{}/api/v1/fleet/tasks", b.hub))
                    .header("cookie", &b.cookie)
                    .header("x-csrf-token", &b.csrf)
                    .json(
                        &json!({"type": "echo", "payload": {"message": format!("task {n}")},
                                  "target": {"labels": {"role": "bench"}},
                                  "idempotency_key": format!("bench-{n}")}),
                    )
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                if response.status().as_u16() != 201 {
                    let status = response.status();
                    return Err(format!(
                        "enqueue: {status} {}",
                        response.text().await.unwrap_or_default()
                    ));
                }
                response.bytes().await.map_err(|e| e.to_string())?;
                latencies.push(ms(at));
            }
            Ok::<_, String>(latencies)
        }));
    }
    let mut enqueue_latencies = Vec::new();
    let mut enqueued_in = None;
    if options.phased {
        for p in producers.drain(..) {
            enqueue_latencies.extend(p.await.map_err(|e| e.to_string())??);
        }
        enqueued_in = Some(started.elapsed().as_secs_f64());
    }
    let drain_started = Instant::now();
    let mut workers = Vec::new();
    for agent in agents {
        let (b, completed, unpromised, total, finished, chained) = (
            b.clone(),
            completed.clone(),
            unpromised.clone(),
            options.tasks,
            finished.clone(),
            options.chained,
        );
        #[allow(
            clippy::disallowed_methods,
            reason = "load generator tasks end with the run"
        )]
        workers.push(tokio::spawn(async move {
            let mut latencies = Latencies::default();
            let claim = ClaimRequest {
                wait_secs: 1,
                executors: vec!["echo".to_owned()],
            };
            let mut next: Option<LeasedTask> = None;
            loop {
                let task = match next.take() {
                    Some(task) => task,
                    // Every task left is promised to a claim already: this agent is done.
                    None if !take_one(&unpromised) => break,
                    None => {
                        let at = Instant::now();
                        let response = as_agent(&b, &agent, "/api/v1/agent/claim", &claim)
                            .await
                            .map_err(|e| format!("claim: {e}"))?;
                        let claimed: ClaimResponse =
                            response.json().await.map_err(|e| e.to_string())?;
                        let Some(task) = claimed.task else {
                            unpromised.fetch_add(1, Ordering::Relaxed);
                            continue;
                        };
                        latencies.claim.push(ms(at));
                        task
                    }
                };
                let at = Instant::now();
                let chain = chained && take_one(&unpromised);
                let result = TaskResult {
                    success: true,
                    output: task.payload.clone(),
                    error: None,
                    log: vec![],
                    next: chain.then(|| claim.clone()),
                };
                let path = format!("/api/v1/agent/tasks/{}/result", task.id);
                let response = as_agent(&b, &agent, &path, &result)
                    .await
                    .map_err(|e| format!("result: {e}"))?;
                if chain {
                    let answer: ResultResponse =
                        response.json().await.map_err(|e| e.to_string())?;
                    if answer.status != "succeeded" {
                        return Err(format!("result: task {} is {}", answer.id, answer.status));
                    }
                    next = answer.next.and_then(|n| n.task);
                    if next.is_none() {
                        unpromised.fetch_add(1, Ordering::Relaxed);
                    }
                    latencies.complete_and_claim.push(ms(at));
                } else {
                    response.bytes().await.map_err(|e| e.to_string())?;
                    latencies.complete.push(ms(at));
                }
                if completed.fetch_add(1, Ordering::Relaxed) + 1 == total {
                    finished.set(started.elapsed()).ok();
                }
            }
            Ok::<_, String>(latencies)
        }));
    }
    let mut all = Latencies {
        enqueue: enqueue_latencies,
        ..Latencies::default()
    };
    for p in producers {
        all.enqueue.extend(p.await.map_err(|e| e.to_string())??);
    }
    let enqueued_in = enqueued_in.unwrap_or_else(|| started.elapsed().as_secs_f64());
    for w in workers {
        let l = w.await.map_err(|e| e.to_string())??;
        all.claim.extend(l.claim);
        all.complete.extend(l.complete);
        all.complete_and_claim.extend(l.complete_and_claim);
    }
    let elapsed = finished
        .get()
        .copied()
        .unwrap_or_else(|| started.elapsed())
        .as_secs_f64();
    let done = completed.load(Ordering::Relaxed);

    // Check: every task succeeded exactly once.
    let org = crate::bench_org(&b.app).await?;
    let succeeded = b
        .app
        .store
        .fleet
        .task_counts(org.id)
        .await
        .map_err(|e| e.to_string())?
        .get("succeeded")
        .copied()
        .unwrap_or(0);

    if options.phased {
        let drained = elapsed - drain_started.duration_since(started).as_secs_f64();
        println!(
            "phased: {} tasks queued in {enqueued_in:.2} s = {:.0} enqueues/s; then claimed and \
             completed in {drained:.2} s = {:.0} tasks/s",
            options.tasks,
            options.tasks as f64 / enqueued_in,
            done as f64 / drained
        );
    }
    let rate = done as f64 / elapsed;
    let floor_tasks = floor / round_trips as f64;
    println!(
        "baseline: {floor:.0} round trips/s to /healthz = {floor_tasks:.0} tasks/s at \
         {round_trips} round trips per task"
    );
    println!(
        "queue:    {done} tasks enqueued, claimed and completed in {elapsed:.2} s = {rate:.0} tasks/s \
         ({:.2}x the baseline's time per task); enqueue finished after {enqueued_in:.2} s",
        floor_tasks / rate
    );
    for (label, values) in [
        ("enqueue ", all.enqueue),
        ("claim   ", all.claim),
        ("complete", all.complete),
        ("complete + next claim", all.complete_and_claim),
    ] {
        if values.is_empty() {
            continue;
        }
        let v = sorted(values);
        println!(
            "  {label} p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms  ({} calls)",
            percentile(&v, 50.0),
            percentile(&v, 99.0),
            v.last().copied().unwrap_or(f64::NAN),
            v.len()
        );
    }
    println!(
        "tasks in state succeeded: {succeeded} (expected {})",
        options.tasks
    );
    let b = Arc::into_inner(b).ok_or("the hub is still shared")?;
    b.app.workers.shutdown(Duration::from_secs(10)).await;
    if succeeded != options.tasks {
        return Err(format!(
            "{succeeded} tasks succeeded, expected {}",
            options.tasks
        ));
    }
    Ok(())
}
