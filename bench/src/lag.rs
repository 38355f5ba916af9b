//! Projection lag as the service itself measures it: the `ledgerflow_projection_lag_seconds`
//! histogram of `/metrics`, scraped before and after a run; the difference is the run's.

use std::time::{Duration, Instant};

/// A cumulative histogram: (upper bound in seconds, observations at or below it).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Lag {
    buckets: Vec<(f64, u64)>,
}

/// What one scrape of `/metrics` says about the projection.
#[derive(Debug, Clone, Default)]
pub struct Scrape {
    pub lag: Lag,
    /// Outbox messages plus consumer messages not yet applied.
    pub backlog: u64,
    /// `ledgerflow_batch_commands`: (sum, count) of commands per batch.
    pub batches: (f64, f64),
}

impl Scrape {
    /// Mean commands per batch since `earlier`; `None` if no batch ran.
    pub fn mean_batch_since(&self, earlier: &Scrape) -> Option<f64> {
        let count = self.batches.1 - earlier.batches.1;
        (count > 0.0).then(|| (self.batches.0 - earlier.batches.0) / count)
    }
}

impl Lag {
    /// Observations since `earlier`.
    pub fn since(&self, earlier: &Lag) -> Lag {
        let buckets = self
            .buckets
            .iter()
            .map(|&(le, n)| {
                let before = earlier
                    .buckets
                    .iter()
                    .find(|b| b.0 == le)
                    .map_or(0, |b| b.1);
                (le, n.saturating_sub(before))
            })
            .collect();
        Lag { buckets }
    }

    pub fn count(&self) -> u64 {
        self.buckets.last().map_or(0, |b| b.1)
    }

    /// The `q` quantile in seconds, interpolated linearly inside its bucket (as
    /// Prometheus' `histogram_quantile` does); `None` without observations.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let rank = q * self.count() as f64;
        let (mut lower, mut below) = (0.0, 0);
        for &(le, n) in &self.buckets {
            if n as f64 >= rank && n > below {
                if le.is_infinite() {
                    return Some(lower);
                }
                let share = (rank - below as f64) / (n - below) as f64;
                return Some(lower + (le - lower) * share);
            }
            (lower, below) = (le, n);
        }
        None
    }
}

/// Reads the projection's figures out of the OpenMetrics text.
pub fn parse(text: &str) -> Scrape {
    let mut scrape = Scrape::default();
    for line in text.lines() {
        let Some((name, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let Ok(value) = value.parse::<f64>() else {
            continue;
        };
        if let Some(le) = name
            .strip_prefix("ledgerflow_projection_lag_seconds_bucket{le=\"")
            .and_then(|rest| rest.strip_suffix("\"}"))
        {
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().unwrap_or(f64::NAN)
            };
            scrape.lag.buckets.push((le, value as u64));
        } else if name == "ledgerflow_outbox_backlog" || name == "ledgerflow_consumer_pending" {
            scrape.backlog += value as u64;
        } else if name == "ledgerflow_batch_commands_sum" {
            scrape.batches.0 = value;
        } else if name == "ledgerflow_batch_commands_count" {
            scrape.batches.1 = value;
        }
    }
    scrape
}

pub async fn scrape(client: &reqwest::Client, target: &str) -> Result<Scrape, String> {
    let url = format!("{}/metrics", target.trim_end_matches('/'));
    let resp = client.get(url).send().await.map_err(|e| e.to_string())?;
    Ok(parse(&resp.text().await.map_err(|e| e.to_string())?))
}

/// Scrapes until the projection has caught up with every write (or `within` runs out), and
/// returns the last scrape with the time it took.
pub async fn settle(
    client: &reqwest::Client,
    target: &str,
    within: Duration,
) -> Result<(Scrape, Duration), String> {
    let started = Instant::now();
    loop {
        let s = scrape(client, target).await?;
        if s.backlog == 0 || started.elapsed() > within {
            return Ok((s, started.elapsed()));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# TYPE ledgerflow_projection_lag_seconds histogram
ledgerflow_projection_lag_seconds_sum 1.5
ledgerflow_projection_lag_seconds_count 100
ledgerflow_projection_lag_seconds_bucket{le=\"0.001\"} 0
ledgerflow_projection_lag_seconds_bucket{le=\"0.01\"} 50
ledgerflow_projection_lag_seconds_bucket{le=\"0.1\"} 90
ledgerflow_projection_lag_seconds_bucket{le=\"+Inf\"} 100
ledgerflow_outbox_backlog 3
ledgerflow_consumer_pending 4
ledgerflow_batch_commands_sum 640
ledgerflow_batch_commands_count 20
";

    #[test]
    fn quantiles_interpolate_inside_their_bucket() {
        let s = parse(TEXT);
        assert_eq!(s.backlog, 7);
        let fewer = parse(
            &TEXT
                .replace("sum 640", "sum 40")
                .replace("count 20", "count 10"),
        );
        assert_eq!(s.mean_batch_since(&fewer), Some(60.0));
        assert_eq!(s.mean_batch_since(&s), None);
        assert_eq!(s.lag.count(), 100);
        let p50 = s.lag.quantile(0.5).unwrap();
        assert!((p50 - 0.01).abs() < 1e-9, "{p50}");
        let p70 = s.lag.quantile(0.7).unwrap();
        assert!((p70 - 0.055).abs() < 1e-9, "{p70}");
        // Above the last finite bound, the bound is all that is known.
        assert_eq!(s.lag.quantile(0.99), Some(0.1));
    }

    #[test]
    fn a_run_counts_only_its_own_observations() {
        let before = parse(TEXT).lag;
        let after = parse(&TEXT.replace("} 90", "} 190").replace("} 100", "} 200")).lag;
        let run = after.since(&before);
        assert_eq!(run.count(), 100);
        // All 100 new observations fall in (0.01, 0.1]: the median is that bucket's middle.
        let p50 = run.quantile(0.5).unwrap();
        assert!((p50 - 0.055).abs() < 1e-9, "{p50}");
        assert_eq!(Lag::default().quantile(0.5), None);
    }
}
