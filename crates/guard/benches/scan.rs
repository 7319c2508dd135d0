//! Guard throughput. Run: `cargo bench -p switchboard-guard --bench scan`
//!
//! - `mixed_1mib`: 1 MiB of prose, logs, code and JSON with a few findings per 10 KiB.
//!   Budget: >= 100 MB/s per core.
//! - `clean_200b`: a clean 200-byte chat message. Budget: <= 5 µs.
//! - Baseline, measured in the same run: one byte loop over the same text (counting ASCII
//!   digits), the least any scanner must do. The summary prints the ratio to it.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion, Throughput};
use switchboard_guard::{redact, scanner, Placeholders, Policy};

const PARAGRAPHS: &[&str] = &[
    "The quarterly review covered the migration of the billing service to the new cluster. \
     Latency dropped by twelve percent after the connection pool was resized, and the on-call \
     rotation reported fewer pages overnight. Next steps: retire the old queue, update runbooks.\n",
    "2026-11-20T10:15:02Z INFO request_id=7f3c2a1e route=/api/v1/tickets status=200 took=14ms\n\
     2026-11-20T10:15:03Z WARN pool saturated waiting=3 max=32 region=eu-central\n",
    "fn handle(req: Request) -> Result<Response, Error> {\n    let user = req.user()?;\n    \
     let items = store.list(user.org, Page::new(0, 50))?;\n    Ok(Response::json(&items))\n}\n",
    "{\"id\": 4821, \"title\": \"Printer offline on floor 3\", \"priority\": \"high\", \
     \"status\": \"open\", \"tags\": [\"hardware\", \"office\"], \"version\": \"2.14.1\"}\n",
    "Version 4.2.0 fixes the export bug (#1182) and speeds up search by 3x on large tenants. \
     Order 99812233 shipped on 2026-11-02; invoice INV-2026-00412 attached.\n",
];

const HITS: &[&str] = &[
    "Contact anna.smith@example.com about it. ",
    "Call +44 20 7946 0958 tomorrow. ",
    "Card 4111 1111 1111 1111 was declined. ",
    "key=AKIAIOSFODNN7EXAMPLE ",
];

fn mixed_text(size: usize) -> String {
    let mut text = String::with_capacity(size + 1024);
    let mut i = 0;
    while text.len() < size {
        text.push_str(PARAGRAPHS[i % PARAGRAPHS.len()]);
        if i % 25 == 24 {
            text.push_str(HITS[(i / 25) % HITS.len()]);
        }
        i += 1;
    }
    text
}

const CLEAN_200: &str = "Hi team, the printer on the third floor is offline again since this \
    morning. Could someone from facilities take a look before the board meeting at noon? \
    Thanks a lot, and sorry for the noise, folks!";

fn digits(text: &str) -> usize {
    text.bytes().filter(u8::is_ascii_digit).count()
}

fn benches(c: &mut Criterion) {
    let text = mixed_text(1024 * 1024);
    let mut group = c.benchmark_group("guard");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("baseline_byte_loop_1mib", |b| {
        b.iter(|| digits(black_box(&text)))
    });
    group.bench_function("scan_mixed_1mib", |b| {
        b.iter(|| scanner().scan(black_box(&text)).map(|f| f.len()))
    });
    group.bench_function("redact_mixed_1mib", |b| {
        b.iter(|| {
            redact(
                scanner(),
                black_box(&text),
                &Policy::default(),
                &mut Placeholders::new(),
            )
            .map(|r| r.text.len())
        })
    });
    group.finish();
    c.bench_function("scan_clean_200b", |b| {
        b.iter(|| scanner().scan(black_box(CLEAN_200)).map(|f| f.len()))
    });
}

/// Median wall time of `f` over `runs` runs.
fn median<F: FnMut()>(runs: usize, mut f: F) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort_unstable();
    times[runs / 2]
}

#[allow(clippy::print_stdout, reason = "a benchmark reports to its terminal")]
fn summary() {
    let text = mixed_text(1024 * 1024);
    assert!(CLEAN_200.len() >= 195 && CLEAN_200.len() <= 210);
    let _ = scanner();
    let baseline = median(31, || {
        black_box(digits(black_box(&text)));
    });
    let scan = median(31, || {
        black_box(
            scanner()
                .scan(black_box(&text))
                .map(|f| f.len())
                .unwrap_or(0),
        );
    });
    let clean = median(2001, || {
        black_box(
            scanner()
                .scan(black_box(CLEAN_200))
                .map(|f| f.len())
                .unwrap_or(0),
        );
    });
    let mbps = |d: Duration| text.len() as f64 / d.as_secs_f64() / 1e6;
    println!(
        "\nguard summary ({} bytes mixed text, {} findings)",
        text.len(),
        scanner().scan(&text).map(|f| f.len()).unwrap_or(0)
    );
    println!("  baseline byte loop   {:>8.1} MB/s", mbps(baseline));
    println!(
        "  scan mixed text      {:>8.1} MB/s  ({:.1}x the baseline's time; budget >= 100 MB/s: {})",
        mbps(scan),
        scan.as_secs_f64() / baseline.as_secs_f64(),
        if mbps(scan) >= 100.0 {
            "OK"
        } else {
            "OVER BUDGET"
        }
    );
    println!(
        "  scan clean 200 bytes {:>8.2} µs    (budget <= 5 µs: {})",
        clean.as_secs_f64() * 1e6,
        if clean <= Duration::from_micros(5) {
            "OK"
        } else {
            "OVER BUDGET"
        }
    );
    println!("reproduce: cargo bench -p switchboard-guard --bench scan");
}

criterion_group!(guard, benches);

fn main() {
    guard();
    Criterion::default().configure_from_args().final_summary();
    summary();
}
