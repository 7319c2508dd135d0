//! `switchboard-bench gateway`: the gateway's overhead, measured in one run against the fake
//! provider on loopback — the same requests sent directly to the provider (the baseline) and
//! through the hub with every layer on (key lookup, rate limits, budget, guard on prompt and
//! answer, usage record and audit event per call).
//!
//! Phases: c=1 (sequential) for a latency comparison, then open-loop fixed rates (requests are
//! started on schedule whether or not earlier ones finished) for a few seconds each. Overhead
//! per call is the hub's own `x-switchboard-overhead-ms` (total time minus time waiting for
//! the provider). Prints p50/p99 and the highest rate sustained without errors and with p99
//! overhead ≤ 1 ms.
//!
//! Usage: `switchboard-bench gateway [--database sqlite|postgres] [--seconds N]
//! [--rates 500,1000,...] [--sequential N]` (default: a temporary SQLite database;
//! `postgres` creates and drops its own database through `TEST_DATABASE_URL`, like the tests).

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command-line benchmark reports on the terminal"
)]

mod queue;
mod runtime;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use switchboard_app::App;
use switchboard_fake_llm::FakeLlm;
use switchboard_llm::catalog::{Catalog, Model, Provider};
use switchboard_llm::client::{Endpoint, Kind, Timeouts};
use switchboard_store::testing::TestDb;

/// The allocator the hub binary uses, so the hub in this process runs as it does in production.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Options {
    postgres: bool,
    seconds: u64,
    rates: Vec<u32>,
    sequential: usize,
    /// `proxy` mode: the provider's `/v1` base URL (the baseline) and the proxy's, its key
    /// and the model id it knows the provider's model by.
    proxy: Option<ProxyTarget>,
}

struct ProxyTarget {
    upstream: String,
    url: String,
    key: Option<String>,
    model: String,
}

const USAGE: &str = "usage:\n  switchboard-bench queue [--database sqlite|postgres] [--tasks N] [--agents N] [--producers N]\n  switchboard-bench runtime [--database sqlite|postgres] [--turns N]\n  switchboard-bench gateway [--database sqlite|postgres] [--seconds N] [--rates R1,R2,...] [--sequential N]\n  switchboard-bench proxy --upstream URL --url URL [--key KEY] [--model ID] [--seconds N] [--rates ...] [--sequential N]";

fn parse_args() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let mode = args.next();
    let proxy_mode = match mode.as_deref() {
        Some("gateway") => false,
        Some("proxy") => true,
        _ => return Err(USAGE.into()),
    };
    let mut options = Options {
        postgres: false,
        seconds: 5,
        rates: vec![500, 1000, 2000, 3000, 4000],
        sequential: 2000,
        proxy: None,
    };
    let (mut upstream, mut url, mut key, mut model) =
        (None, None, None, "local/gpt-test".to_owned());
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--database" => options.postgres = value == "postgres",
            "--seconds" => options.seconds = value.parse().map_err(|_| "--seconds: a number")?,
            "--sequential" => {
                options.sequential = value.parse().map_err(|_| "--sequential: a number")?
            }
            "--rates" => {
                options.rates = value
                    .split(',')
                    .map(|r| r.trim().parse::<u32>())
                    .collect::<Result<_, _>>()
                    .map_err(|_| "--rates: numbers separated by commas")?
            }
            "--upstream" if proxy_mode => upstream = Some(value.trim_end_matches('/').to_owned()),
            "--url" if proxy_mode => url = Some(value.trim_end_matches('/').to_owned()),
            "--key" if proxy_mode => key = Some(value),
            "--model" if proxy_mode => model = value,
            other => return Err(format!("unknown flag {other}\n{USAGE}")),
        }
    }
    if proxy_mode {
        options.proxy = Some(ProxyTarget {
            upstream: upstream.ok_or("proxy needs --upstream (the provider's /v1 URL)")?,
            url: url.ok_or("proxy needs --url (the proxy's /v1 URL)")?,
            key,
            model,
        });
    }
    Ok(options)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(|a, b| a.total_cmp(b));
    v
}

fn body(model: &str) -> Value {
    json!({"model": model, "messages": [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Summarise the ticket from ada@example.com about the printer on floor 3."}
    ]})
}

/// One call: client-side latency and the hub's overhead header (if any).
struct Sample {
    ok: bool,
    latency_ms: f64,
    overhead_ms: Option<f64>,
}

async fn call(client: &reqwest::Client, url: &str, key: Option<&str>, body: &Value) -> Sample {
    let started = Instant::now();
    let mut request = client.post(url).json(body);
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    match request.send().await {
        Ok(response) => {
            let ok = response.status().is_success();
            let overhead_ms = response
                .headers()
                .get("x-switchboard-overhead-ms")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok());
            let ok = ok && response.bytes().await.is_ok();
            Sample {
                ok,
                latency_ms: started.elapsed().as_secs_f64() * 1000.0,
                overhead_ms,
            }
        }
        Err(_) => Sample {
            ok: false,
            latency_ms: started.elapsed().as_secs_f64() * 1000.0,
            overhead_ms: None,
        },
    }
}

/// Starts requests at `rate` per second for `seconds`, open loop; returns every sample.
async fn at_rate(
    client: &reqwest::Client,
    url: &str,
    key: Option<&str>,
    body: &Value,
    rate: u32,
    seconds: u64,
) -> (Vec<Sample>, f64) {
    let total = u64::from(rate) * seconds;
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate));
    let started = tokio::time::Instant::now();
    let mut handles = Vec::with_capacity(total as usize);
    for i in 0..total {
        tokio::time::sleep_until(started + interval.mul_f64(i as f64)).await;
        let (client, url, key, body) = (
            client.clone(),
            url.to_owned(),
            key.map(str::to_owned),
            body.clone(),
        );
        #[allow(
            clippy::disallowed_methods,
            reason = "load generator tasks end with the run"
        )]
        handles.push(tokio::spawn(async move {
            call(&client, &url, key.as_deref(), &body).await
        }));
    }
    let mut samples = Vec::with_capacity(handles.len());
    for h in handles {
        if let Ok(sample) = h.await {
            samples.push(sample);
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    (samples, total as f64 / elapsed)
}

/// What `compare` measures: the provider directly (the baseline) and a proxy in front of it.
struct Target {
    label: &'static str,
    direct_url: String,
    url: String,
    key: Option<String>,
    model: String,
}

/// Sends the same requests directly and through the target: c=1, then fixed rates. Prints
/// latency, the overhead header when the target sends one, and the highest rate sustained.
async fn compare(client: &reqwest::Client, target: &Target, options: &Options) {
    let body = body(&target.model);
    let key = target.key.as_deref();
    let (direct_url, url, label) = (&target.direct_url, &target.url, target.label);
    // Warm up both paths.
    for _ in 0..200 {
        call(client, direct_url, None, &body).await;
        call(client, url, key, &body).await;
    }

    // c = 1.
    let n = options.sequential;
    let mut direct = Vec::with_capacity(n);
    let mut through = Vec::with_capacity(n);
    let mut overhead = Vec::with_capacity(n);
    let mut failed = 0;
    for _ in 0..n {
        direct.push(call(client, direct_url, None, &body).await.latency_ms);
        let s = call(client, url, key, &body).await;
        failed += usize::from(!s.ok);
        through.push(s.latency_ms);
        overhead.extend(s.overhead_ms);
    }
    let (direct, through, overhead) = (sorted(direct), sorted(through), sorted(overhead));
    println!("c=1, {n} requests each ({failed} failed):");
    println!(
        "  direct   p50 {:.3} ms  p99 {:.3} ms",
        percentile(&direct, 50.0),
        percentile(&direct, 99.0)
    );
    println!(
        "  {label:<8} p50 {:.3} ms  p99 {:.3} ms   (ratio p50 {:.2}x; adds {:.3} ms at p50)",
        percentile(&through, 50.0),
        percentile(&through, 99.0),
        percentile(&through, 50.0) / percentile(&direct, 50.0),
        percentile(&through, 50.0) - percentile(&direct, 50.0)
    );
    if !overhead.is_empty() {
        println!(
            "  overhead p50 {:.3} ms  p99 {:.3} ms  (x-switchboard-overhead-ms)",
            percentile(&overhead, 50.0),
            percentile(&overhead, 99.0)
        );
    }
    println!();

    // Fixed rates, open loop.
    println!(
        "fixed rates, {} s each:\n  {:>6}  {:>9}  {:>7}  {:>12}  {:>12}  {:>12}  {:>12}",
        options.seconds,
        "rate",
        "achieved",
        "errors",
        "direct p99",
        format!("{label} p99"),
        "overhead p50",
        "overhead p99"
    );
    let mut best = None;
    for &rate in &options.rates {
        let (d, _) = at_rate(client, direct_url, None, &body, rate, options.seconds).await;
        let (g, achieved) = at_rate(client, url, key, &body, rate, options.seconds).await;
        let errors = g.iter().filter(|s| !s.ok).count() + d.iter().filter(|s| !s.ok).count();
        let d99 = percentile(&sorted(d.iter().map(|s| s.latency_ms).collect()), 99.0);
        let g99 = percentile(&sorted(g.iter().map(|s| s.latency_ms).collect()), 99.0);
        let o = sorted(g.iter().filter_map(|s| s.overhead_ms).collect());
        let (o50, o99) = (percentile(&o, 50.0), percentile(&o, 99.0));
        let ms = |v: f64| {
            if v.is_nan() {
                "–".to_owned()
            } else {
                format!("{v:.3} ms")
            }
        };
        println!(
            "  {rate:>6}  {achieved:>9.0}  {errors:>7}  {:>12}  {:>12}  {:>12}  {:>12}",
            ms(d99),
            ms(g99),
            ms(o50),
            ms(o99)
        );
        // Without an overhead header (another proxy), the client-side p99 is the measure.
        let p99 = if o.is_empty() { g99 } else { o99 };
        if errors == 0 && p99 <= 1.0 && achieved >= f64::from(rate) * 0.95 {
            best = Some(rate);
        }
    }
    let what = if overhead.is_empty() {
        "client p99"
    } else {
        "p99 overhead"
    };
    match best {
        Some(rate) => println!(
            "\nhighest rate sustained with {what} <= 1 ms and no errors: {rate} requests/s"
        ),
        None => println!("\nno rate met {what} <= 1 ms without errors"),
    }
}

/// `proxy` mode: another OpenAI-compatible proxy (e.g. LiteLLM) in front of a provider that
/// is already running (e.g. `switchboard-fake-llm --listen 127.0.0.1:9999`).
async fn run_proxy(options: &Options, proxy: &ProxyTarget) -> Result<(), String> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(512)
        .tcp_nodelay(true)
        // A slow proxy must not keep the run going: a call slower than this is an error.
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| e.to_string())?;
    println!(
        "switchboard-bench proxy — {} in front of {}\n",
        proxy.url, proxy.upstream
    );
    let target = Target {
        label: "proxy",
        direct_url: format!("{}/chat/completions", proxy.upstream),
        url: format!("{}/chat/completions", proxy.url),
        key: proxy.key.clone(),
        model: proxy.model.clone(),
    };
    compare(&client, &target, options).await;
    Ok(())
}

async fn run(options: Options) -> Result<(), String> {
    if let Some(proxy) = &options.proxy {
        return run_proxy(&options, proxy).await;
    }
    let Booted {
        fake: _fake,
        upstream,
        db,
        backend,
        app,
        hub,
        client,
        cookie,
        csrf,
    } = boot(options.postgres).await?;
    let created: Value = client
        .post(format!("{hub}/api/v1/gateway/keys"))
        .header("cookie", cookie)
        .header("x-csrf-token", csrf)
        .json(&json!({"name": "bench", "rpm": 10_000_000, "tpm": 1_000_000_000u64, "monthly_budget_usd": 1_000_000.0}))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let key = created["key"].as_str().ok_or("no gateway key")?.to_owned();

    println!("switchboard-bench gateway — {backend}, fake provider on loopback, every layer on");
    println!(
        "(key lookup, rate limits, budget, guard on prompt and answer, usage + audit per call)\n"
    );
    let target = Target {
        label: "gateway",
        direct_url: format!("{upstream}/v1/chat/completions"),
        url: format!("{hub}/v1/chat/completions"),
        key: Some(key),
        model: "local/gpt-test".into(),
    };
    compare(&client, &target, &options).await;

    let flushed = app.gateway.flush_usage(Duration::from_secs(30)).await;
    let org = bench_org(&app).await?;
    let records = app
        .store
        .usage
        .count(org.id)
        .await
        .map_err(|e| e.to_string())?;
    println!("usage records written: {records} (queue flushed: {flushed})");
    app.workers.shutdown(Duration::from_secs(10)).await;
    drop(db);
    Ok(())
}

/// A hub under test: the fake provider in this process, a fresh database, the real router
/// with every layer, first-boot setup done and the owner signed in.
pub(crate) struct Booted {
    pub fake: FakeLlm,
    pub upstream: String,
    pub db: TestDb,
    pub backend: &'static str,
    pub app: Arc<App>,
    pub hub: String,
    pub client: reqwest::Client,
    pub cookie: String,
    pub csrf: String,
}

/// The benchmark's organisation (made by [`boot`]'s setup).
pub(crate) async fn bench_org(app: &App) -> Result<switchboard_store::OrgRecord, String> {
    app.store
        .orgs
        .get_by_slug("bench")
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| "no bench organisation".to_owned())
}

pub(crate) async fn boot(postgres: bool) -> Result<Booted, String> {
    // The fake provider, in this process, on loopback.
    let fake = FakeLlm::new();
    let upstream = fake
        .start()
        .await
        .map_err(|e| format!("fake provider: {e}"))?;

    // The hub: a fresh database, the real router with every layer.
    let db = if postgres {
        TestDb::postgres().await.ok_or(
            "--database postgres needs TEST_DATABASE_URL (a server to create a database on)",
        )?
    } else {
        TestDb::sqlite().await
    };
    let backend = db.store().backend;
    let catalog = Catalog {
        providers: vec![Provider {
            name: "local".into(),
            endpoint: Endpoint {
                kind: Kind::OpenAi,
                base_url: format!("{upstream}/v1"),
                api_key: Some("bench".into()),
                timeouts: Timeouts::default(),
                retries: 0,
            },
            models: vec![Model {
                name: "gpt-test".into(),
                input_usd_per_mtok: 1.0,
                output_usd_per_mtok: 2.0,
                fallbacks: vec![],
            }],
        }],
        default_model: Some("local/gpt-test".into()),
        embedding_model: None,
    };
    let keyring = switchboard_app::secrets::Keyring::new(
        switchboard_app::secrets::MasterKey::generate(),
        vec![],
    );
    let app = Arc::new(
        App::new(
            db.store(),
            Arc::new(switchboard_domain::SystemClock),
            keyring,
        )
        .with_llm(catalog, Default::default()),
    );
    app.start_accounting();
    let router = switchboard_server::router(app.clone(), Default::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let hub = format!(
        "http://{}",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    app.workers.spawn("http", move |shutdown| async move {
        let _ = switchboard_server::serve(
            listener,
            router,
            shutdown.cancelled_owned(),
            std::time::Duration::from_secs(5),
        )
        .await;
    });

    // Setup, an owner session and a gateway key with limits and a budget (all layers on).
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(512)
        .tcp_nodelay(true)
        .build()
        .map_err(|e| e.to_string())?;
    app.identity
        .prepare_setup(Some("BENCH-CODE"))
        .await
        .map_err(|e| e.to_string())?;
    let setup = client
        .post(format!("{hub}/api/v1/setup"))
        .json(&json!({"setup_code": "BENCH-CODE", "organization": {"name": "Bench", "slug": "bench"},
                      "owner": {"email": "bench@example.com", "name": "Bench", "password": "correct horse battery staple"}}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if setup.status().as_u16() != 201 {
        return Err(format!("setup failed: {}", setup.status()));
    }
    let login = client
        .post(format!("{hub}/api/v1/auth/login"))
        .json(&json!({"email": "bench@example.com", "password": "correct horse battery staple"}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let cookie = login
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("sb_session="))
        .and_then(|v| v.split(';').next())
        .ok_or("no session cookie")?
        .to_owned();
    let csrf = login.json::<Value>().await.map_err(|e| e.to_string())?["csrf_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    Ok(Booted {
        fake,
        upstream,
        db,
        backend: backend.name(),
        app,
        hub,
        client,
        cookie,
        csrf,
    })
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let first = args.next();
    if first.as_deref() == Some("queue") {
        let rest: Vec<String> = args.collect();
        return match queue::QueueOptions::parse(&rest) {
            Ok(options) => block_on(queue::run(options)),
            Err(e) => {
                eprintln!("{e}\n{USAGE}");
                ExitCode::from(2)
            }
        };
    }
    if first.as_deref() == Some("runtime") {
        let rest: Vec<String> = args.collect();
        let postgres = rest
            .windows(2)
            .any(|w| w[0] == "--database" && w[1] == "postgres");
        let turns = rest
            .windows(2)
            .find(|w| w[0] == "--turns")
            .and_then(|w| w[1].parse().ok())
            .unwrap_or(300);
        return block_on(runtime::run(postgres, turns));
    }
    let options = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    block_on(run(options))
}

fn block_on(work: impl std::future::Future<Output = Result<(), String>>) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(work) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench failed: {e}");
            ExitCode::FAILURE
        }
    }
}
