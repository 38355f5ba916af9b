//! `ledgerflow-bench`: the load generator. It drives a running ledgerflow service's HTTP
//! API with concurrent clients and reports completed entries per second, latency
//! percentiles, errors by code and the projection lag of the run's entries. It is a crate
//! of its own so that the service carries neither its HTTP client nor its histograms.

mod conn;
mod lag;

use clap::{Parser, ValueEnum};
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Workload {
    /// CREDIT_ADD to owners drawn uniformly from --owners.
    Uniform,
    /// CREDIT_ADD, every entry to one owner.
    Hot,
    /// Half CREDIT_ADD of 2, half CREDIT_SPEND of 1, over --owners (some spends fail).
    Mixed,
    /// CREDIT_ADD whose nonces come from a pool of 100: mostly replays.
    Dupes,
    /// Per client, cycles over --owners of: CREDIT_ADD of 10, a hold of 5, then a capture
    /// of 3 (even cycles) or a void (odd ones).
    Holds,
}

#[derive(Debug, Clone, Parser)]
#[command(
    name = "ledgerflow-bench",
    version,
    about = "Drive a running ledgerflow service's HTTP API and report entries/s and latency"
)]
pub struct BenchArgs {
    /// Base URL of the service.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub target: String,
    /// The app's API key.
    #[arg(long, env = "LEDGERFLOW_BENCH_KEY")]
    pub key: String,
    #[arg(long, value_enum, default_value = "uniform")]
    pub workload: Workload,
    /// Concurrent clients.
    #[arg(long, default_value_t = 64)]
    pub clients: usize,
    /// Seconds to run.
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// Stop after this many requests instead (over all clients).
    #[arg(long)]
    pub count: Option<u64>,
    /// Distinct owners for the uniform and mixed workloads.
    #[arg(long, default_value_t = 1000)]
    pub owners: u64,
    /// PID of the service, to report its peak resident memory (Linux).
    #[arg(long)]
    pub pid: Option<u32>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Default)]
struct Tally {
    latency_us: Option<Histogram<u64>>,
    completed: u64,
    replays: u64,
    requests: u64,
    errors: BTreeMap<String, u64>,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // Already installed is as good as installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    match run(BenchArgs::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ledgerflow-bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Runs the benchmark and prints its report.
async fn run(args: BenchArgs) -> Result<(), String> {
    let target = conn::Target::parse(&args.target, &args.key)?;
    // Only for the service's metrics: the clients send over connections of their own.
    let client = reqwest::Client::builder()
        .build()
        .map_err(|e| e.to_string())?;
    let run_id = uuid::Uuid::new_v4().simple().to_string();
    let before = lag::scrape(&client, &args.target).await?;
    let deadline = Instant::now() + Duration::from_secs(args.duration);
    let per_client = args.count.map(|c| c.div_ceil(args.clients as u64));
    let started = Instant::now();
    let tasks: Vec<_> = (0..args.clients)
        .map(|c| {
            let conn = conn::Conn::new(target.clone());
            let args = args.clone();
            let run_id = run_id.clone();
            tokio::spawn(async move { drive(c, conn, args, run_id, deadline, per_client).await })
        })
        .collect();
    let mut total = Tally {
        latency_us: Some(new_histogram()?),
        ..Tally::default()
    };
    for t in tasks {
        let tally = t.await.map_err(|e| e.to_string())??;
        total.completed += tally.completed;
        total.replays += tally.replays;
        total.requests += tally.requests;
        for (code, n) in tally.errors {
            *total.errors.entry(code).or_default() += n;
        }
        if let (Some(all), Some(h)) = (total.latency_us.as_mut(), tally.latency_us.as_ref()) {
            all.add(h).map_err(|e| e.to_string())?;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let (after, drain) = lag::settle(&client, &args.target, Duration::from_secs(120)).await?;
    let projection = Projection {
        lag: after.lag.since(&before.lag),
        drain,
        backlog: after.backlog,
    };
    // The service's group commit during the run (other clients' requests included).
    let mean_batch = after.mean_batch_since(&before);
    report(&args, &total, elapsed, &projection, mean_batch);
    Ok(())
}

fn new_histogram() -> Result<Histogram<u64>, String> {
    Histogram::new_with_bounds(1, 60_000_000, 3).map_err(|e| e.to_string())
}

/// Request number `n` scattered over the 64-bit range (SplitMix64's finalizer), so that its
/// owner is as if drawn at random: a multiplicative hash of `client × 10⁹ + i` sent the
/// clients down a handful of shared owner sequences (64 clients × 270 requests touched
/// 2,700 owners of 10,000, where random draws touch about 8,200).
fn spread(n: u64) -> u64 {
    let mut z = n.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The `i`th request of client `client`: its path and body. `hold` is the hold the client
/// placed last (the holds workload).
fn request(
    args: &BenchArgs,
    client: usize,
    i: u64,
    run_id: &str,
    hold: Option<&str>,
) -> (String, Value) {
    let n = client as u64 * 1_000_000_000 + i;
    let owner = |k: u64| format!("bench-{}", k % args.owners.max(1));
    let nonce = format!("{run_id}-{n}");
    if let Workload::Holds = args.workload {
        let cycle = i / 3;
        let owner = owner((client as u64).wrapping_mul(7919).wrapping_add(cycle));
        return match (i % 3, hold) {
            (1, _) => (
                "/v1/holds".into(),
                json!({"operation": "CREDIT_SPEND", "owner_id": owner, "nonce": nonce, "amount": "5", "expires_in_seconds": 600}),
            ),
            (2, Some(id)) if cycle.is_multiple_of(2) => (
                format!("/v1/holds/{id}/capture"),
                json!({"nonce": nonce, "amount": "3"}),
            ),
            (2, Some(id)) => (format!("/v1/holds/{id}/void"), json!({"nonce": nonce})),
            _ => (
                "/v1/entries".into(),
                json!({"operation": "CREDIT_ADD", "owner_id": owner, "nonce": nonce, "amount": "10"}),
            ),
        };
    }
    let body = match args.workload {
        Workload::Uniform => {
            json!({"operation": "CREDIT_ADD", "owner_id": owner(spread(n)), "nonce": format!("{run_id}-{n}"), "amount": "1"})
        }
        Workload::Hot => {
            json!({"operation": "CREDIT_ADD", "owner_id": "bench-hot", "nonce": format!("{run_id}-{n}"), "amount": "1"})
        }
        Workload::Mixed if i.is_multiple_of(2) => {
            json!({"operation": "CREDIT_ADD", "owner_id": owner(spread(n)), "nonce": format!("{run_id}-{n}"), "amount": "2"})
        }
        Workload::Mixed => {
            json!({"operation": "CREDIT_SPEND", "owner_id": owner(spread(n - 1)), "nonce": format!("{run_id}-{n}"), "amount": "1"})
        }
        Workload::Dupes | Workload::Holds => {
            json!({"operation": "CREDIT_ADD", "owner_id": "bench-dupes", "nonce": format!("{run_id}-{}", n % 100), "amount": "1"})
        }
    };
    ("/v1/entries".into(), body)
}

async fn drive(
    client_no: usize,
    mut conn: conn::Conn,
    args: BenchArgs,
    run_id: String,
    deadline: Instant,
    limit: Option<u64>,
) -> Result<Tally, String> {
    let mut hold: Option<String> = None;
    let mut tally = Tally {
        latency_us: Some(new_histogram()?),
        ..Tally::default()
    };
    let mut i = 0;
    while Instant::now() < deadline || limit.is_some() {
        if limit.is_some_and(|l| i >= l) {
            break;
        }
        let (path, body) = request(&args, client_no, i, &run_id, hold.as_deref());
        let places_hold = path == "/v1/holds";
        i += 1;
        let body = serde_json::to_vec(&body).map_err(|e| e.to_string())?;
        let sent = Instant::now();
        let outcome = match conn.post(&path, body).await {
            // Only a hold's id and an error's code are read from a body.
            Ok(a) if places_hold || !matches!(a.status, 200 | 201) => {
                let body: Value = serde_json::from_slice(&a.body).unwrap_or(Value::Null);
                if places_hold {
                    hold = body["id"].as_str().map(str::to_owned);
                }
                (a.status, a.replay, body["code"].as_str().map(str::to_owned))
            }
            Ok(a) => (a.status, a.replay, None),
            Err(e) => (0, false, Some(format!("transport: {e}"))),
        };
        let us = sent.elapsed().as_micros() as u64;
        if let Some(h) = tally.latency_us.as_mut() {
            h.saturating_record(us.max(1));
        }
        tally.requests += 1;
        match outcome {
            (200 | 201, true, _) => tally.replays += 1,
            (200 | 201, false, _) => tally.completed += 1,
            (status, _, code) => {
                let key = format!("{status} {}", code.unwrap_or_default());
                *tally.errors.entry(key).or_default() += 1;
            }
        }
    }
    Ok(tally)
}

fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The projection of the run's entries.
struct Projection {
    lag: lag::Lag,
    /// From the end of the load until the read model had every entry.
    drain: Duration,
    /// Left over if it did not catch up within the wait.
    backlog: u64,
}

fn report(
    args: &BenchArgs,
    t: &Tally,
    elapsed: f64,
    projection: &Projection,
    mean_batch: Option<f64>,
) {
    let h = t.latency_us.as_ref();
    let q = |p: f64| h.map_or(0.0, |h| h.value_at_quantile(p) as f64 / 1000.0);
    let max = h.map_or(0.0, |h| h.max() as f64 / 1000.0);
    let rss = args.pid.and_then(peak_rss_kib);
    let lag_ms = |q: f64| {
        projection
            .lag
            .quantile(q)
            .map(|s| (s * 1e5).round() / 100.0)
    };
    let report = json!({
        "workload": format!("{:?}", args.workload).to_lowercase(),
        "clients": args.clients,
        "seconds": (elapsed * 100.0).round() / 100.0,
        "requests": t.requests,
        "completed": t.completed,
        "replays": t.replays,
        "completed_per_second": (t.completed as f64 / elapsed).round(),
        "requests_per_second": (t.requests as f64 / elapsed).round(),
        "latency_ms": {"p50": q(0.50), "p90": q(0.90), "p99": q(0.99), "max": max},
        "errors": t.errors,
        "mean_batch": mean_batch.map(|b| (b * 10.0).round() / 10.0),
        "service_peak_rss_mib": rss.map(|k| (k as f64 / 1024.0 * 10.0).round() / 10.0),
        "projection": {
            "observed": projection.lag.count(),
            "lag_ms": {"p50": lag_ms(0.50), "p99": lag_ms(0.99)},
            "drained_after_load_ms": projection.drain.as_millis() as u64,
            "backlog_left": projection.backlog,
        },
    });
    if args.json {
        println!("{report}");
    } else {
        print_table(&report);
    }
}

/// The report as a table for people.
fn print_table(r: &Value) {
    let f = |v: &Value| v.as_f64().unwrap_or(0.0);
    println!(
        "workload {} · {} clients · {:.1} s",
        r["workload"].as_str().unwrap_or(""),
        f(&r["clients"]),
        f(&r["seconds"])
    );
    for (label, key) in [
        ("requests", "requests"),
        ("completed entries", "completed"),
        ("replays", "replays"),
        ("completed entries/s", "completed_per_second"),
        ("requests/s", "requests_per_second"),
    ] {
        println!("{label:<24}{:>12.0}", f(&r[key]));
    }
    for p in ["p50", "p90", "p99", "max"] {
        println!(
            "{:<24}{:>9.2} ms",
            format!("latency {p}"),
            f(&r["latency_ms"][p])
        );
    }
    if let Some(b) = r["mean_batch"].as_f64() {
        println!("{:<24}{:>12.1}", "entries per batch", b);
    }
    if let Some(errors) = r["errors"].as_object() {
        for (code, n) in errors {
            println!(
                "{:<24}{:>12}",
                format!("error {code}"),
                n.as_u64().unwrap_or(0)
            );
        }
    }
    let projection = &r["projection"];
    if let (Some(p50), Some(p99)) = (
        projection["lag_ms"]["p50"].as_f64(),
        projection["lag_ms"]["p99"].as_f64(),
    ) {
        println!("{:<24}{:>9.2} ms", "projection lag p50", p50);
        println!("{:<24}{:>9.2} ms", "projection lag p99", p99);
        println!(
            "{:<24}{:>9.0} ms",
            "projection drained in",
            f(&projection["drained_after_load_ms"])
        );
    }
    let backlog = projection["backlog_left"].as_u64().unwrap_or(0);
    if backlog > 0 {
        println!("{:<24}{:>12}", "projection backlog left", backlog);
    }
    if let Some(mib) = r["service_peak_rss_mib"].as_f64() {
        println!("{:<24}{:>9.1} MiB", "service peak RSS", mib);
    }
}

#[cfg(test)]
mod tests {
    use super::spread;
    use std::collections::HashSet;

    #[test]
    fn uniform_owners_are_spread_as_random_draws_are() {
        // 64 clients × 270 requests over 10,000 owners: random draws touch about 8,200.
        let owners: HashSet<u64> = (0..64u64)
            .flat_map(|client| (0..270).map(move |i| spread(client * 1_000_000_000 + i) % 10_000))
            .collect();
        assert!((8_000..=8_400).contains(&owners.len()), "{}", owners.len());
    }
}
