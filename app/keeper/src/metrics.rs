//! Prometheus metrics and a health endpoint, served over plain HTTP/1.1.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::feeds::FeedStatus;

#[derive(Debug, Default)]
pub struct Metrics {
    pub scans: AtomicU64,
    pub accounts_scanned: AtomicU64,
    pub unhealthy_accounts: AtomicU64,
    pub liquidations_sent: AtomicU64,
    pub liquidations_simulated_only: AtomicU64,
    pub liquidation_failures: AtomicU64,
    pub rpc_retries: AtomicU64,
    /// Unix time of the last completed scan.
    pub last_scan_unix: AtomicI64,
    pub buybacks_sent: AtomicU64,
    pub buybacks_simulated_only: AtomicU64,
    pub buyback_failures: AtomicU64,
    /// Native base units paid into confirmed buybacks.
    pub buyback_native_sold: AtomicU64,
    /// Pool base units received from confirmed buybacks, per mint: units of different
    /// mints do not add up.
    pub buyback_pool_received: Mutex<BTreeMap<String, u64>>,
    pub sweeps_sent: AtomicU64,
    /// Escrows checkpointed by confirmed `poke_stake`s.
    pub pokes_sent: AtomicU64,
    /// Every feed the protocol depends on, as the last scan saw it.
    pub feeds: Mutex<Vec<FeedStatus>>,
}

impl Metrics {
    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let counters = [
            ("ballast_keeper_scans_total", "Completed scans", &self.scans),
            ("ballast_keeper_accounts_scanned_total", "Margin accounts scanned", &self.accounts_scanned),
            ("ballast_keeper_liquidations_sent_total", "Liquidations confirmed", &self.liquidations_sent),
            (
                "ballast_keeper_liquidations_simulated_total",
                "Liquidations simulated only (dry run)",
                &self.liquidations_simulated_only,
            ),
            (
                "ballast_keeper_liquidation_failures_total",
                "Liquidations that failed simulation or sending",
                &self.liquidation_failures,
            ),
            ("ballast_keeper_rpc_retries_total", "RPC calls retried after a transient error", &self.rpc_retries),
            ("ballast_keeper_buybacks_sent_total", "Buyback fills confirmed", &self.buybacks_sent),
            (
                "ballast_keeper_buybacks_simulated_total",
                "Buyback fills simulated only (dry run)",
                &self.buybacks_simulated_only,
            ),
            (
                "ballast_keeper_buyback_failures_total",
                "Buyback fills that failed simulation or sending",
                &self.buyback_failures,
            ),
            (
                "ballast_keeper_buyback_native_sold_total",
                "Native base units paid into confirmed buybacks",
                &self.buyback_native_sold,
            ),
            ("ballast_keeper_sweeps_sent_total", "Fee sweeps confirmed", &self.sweeps_sent),
            ("ballast_keeper_pokes_sent_total", "Stake escrows checkpointed by confirmed pokes", &self.pokes_sent),
        ];
        for (name, help, value) in counters {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}\n",
                value.load(Ordering::Relaxed)
            ));
        }
        let gauges = [
            (
                "ballast_keeper_unhealthy_accounts",
                "Accounts below maintenance health at the last scan",
                self.unhealthy_accounts.load(Ordering::Relaxed) as i64,
            ),
            (
                "ballast_keeper_last_scan_timestamp_seconds",
                "Unix time of the last completed scan",
                self.last_scan_unix.load(Ordering::Relaxed),
            ),
        ];
        for (name, help, value) in gauges {
            out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}\n"));
        }
        let name = "ballast_keeper_buyback_pool_received_total";
        out.push_str(&format!(
            "# HELP {name} Pool base units received from confirmed buybacks\n# TYPE {name} counter\n"
        ));
        // A poisoned lock only means a panic elsewhere mid-update: the counts are still sound.
        let received = self.buyback_pool_received.lock().unwrap_or_else(|e| e.into_inner());
        for (mint, units) in received.iter() {
            out.push_str(&format!("{name}{{mint=\"{mint}\"}} {units}\n"));
        }
        let feeds = self.feeds.lock().unwrap_or_else(|e| e.into_inner());
        let (age, max) = ("ballast_keeper_feed_age_seconds", "ballast_keeper_feed_max_age_seconds");
        out.push_str(&format!(
            "# HELP {age} Age of each feed's price at the last scan (-1: the account does not read)\n\
             # TYPE {age} gauge\n"
        ));
        for f in feeds.iter() {
            out.push_str(&format!(
                "{age}{{feed=\"{}\",address=\"{}\"}} {}\n",
                f.label,
                f.address,
                f.age_secs.unwrap_or(-1)
            ));
        }
        out.push_str(&format!("# HELP {max} Oldest price a liquidation accepts from each feed\n# TYPE {max} gauge\n"));
        for f in feeds.iter() {
            out.push_str(&format!("{max}{{feed=\"{}\",address=\"{}\"}} {}\n", f.label, f.address, f.max_age_secs));
        }
        out
    }

    /// Stores the feeds' statuses from a scan.
    pub fn record_feeds(&self, statuses: Vec<FeedStatus>) {
        *self.feeds.lock().unwrap_or_else(|e| e.into_inner()) = statuses;
    }

    /// Counts a confirmed buyback fill of `pool_out` units of `mint` for `native_in`.
    pub fn record_buyback(&self, mint: &str, native_in: u64, pool_out: u64) {
        self.buybacks_sent.fetch_add(1, Ordering::Relaxed);
        self.buyback_native_sold.fetch_add(native_in, Ordering::Relaxed);
        let mut received = self.buyback_pool_received.lock().unwrap_or_else(|e| e.into_inner());
        let units = received.entry(mint.to_string()).or_default();
        *units = units.saturating_add(pool_out);
    }

    /// Healthy while the last scan finished within `max_age_secs` of `now` and saw every
    /// feed fit for a liquidation; otherwise why not, one line a reason.
    pub fn health(&self, now: i64, max_age_secs: i64) -> Result<(), String> {
        let last = self.last_scan_unix.load(Ordering::Relaxed);
        if last == 0 || now - last > max_age_secs {
            return Err("no recent scan\n".to_string());
        }
        let feeds = self.feeds.lock().unwrap_or_else(|e| e.into_inner());
        let stale: String = feeds.iter().filter(|f| f.is_stale()).map(|f| f.describe() + "\n").collect();
        if stale.is_empty() {
            Ok(())
        } else {
            Err(stale)
        }
    }
}

/// Answers `GET /metrics` and `GET /healthz` on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, metrics: Arc<Metrics>, max_scan_age_secs: i64) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else { continue };
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 1024];
            let n = stream.read(&mut buf).await.unwrap_or(0);
            let request = String::from_utf8_lossy(&buf[..n]);
            let path = request.split_whitespace().nth(1).unwrap_or("");
            let now = unix_now();
            let (status, body) = match path {
                "/metrics" => ("200 OK", metrics.render()),
                "/healthz" => match metrics.health(now, max_scan_age_secs) {
                    Ok(()) => ("200 OK", "ok\n".to_string()),
                    Err(why) => ("503 Service Unavailable", why),
                },
                _ => ("404 Not Found", "not found\n".to_string()),
            };
            let response = format!(
                "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
        });
    }
}

pub fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn get(addr: std::net::SocketAddr, path: &str) -> String {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes()).await.unwrap();
        let mut out = String::new();
        stream.read_to_string(&mut out).await.unwrap();
        out
    }

    #[tokio::test]
    async fn serves_metrics_and_health_on_loopback() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let metrics = Arc::new(Metrics::default());
        tokio::spawn(serve(listener, metrics.clone(), 60));

        assert!(get(addr, "/healthz").await.starts_with("HTTP/1.1 503"), "no scan yet");
        metrics.scans.fetch_add(3, Ordering::Relaxed);
        metrics.last_scan_unix.store(unix_now(), Ordering::Relaxed);
        assert!(get(addr, "/healthz").await.starts_with("HTTP/1.1 200"));
        let body = get(addr, "/metrics").await;
        assert!(body.contains("ballast_keeper_scans_total 3"), "{body}");
        assert!(body.contains("# TYPE ballast_keeper_unhealthy_accounts gauge"));
        assert!(get(addr, "/nope").await.starts_with("HTTP/1.1 404"));
    }

    #[test]
    fn buybacks_are_counted_per_mint() {
        let m = Metrics::default();
        m.record_buyback("Usdc", 10, 20);
        m.record_buyback("Usdc", 5, 11);
        m.record_buyback("Sol", 1, 2);
        let body = m.render();
        assert!(body.contains("ballast_keeper_buybacks_sent_total 3"), "{body}");
        assert!(body.contains("ballast_keeper_buyback_native_sold_total 16"), "{body}");
        assert!(body.contains("ballast_keeper_buyback_pool_received_total{mint=\"Usdc\"} 31"), "{body}");
        assert!(body.contains("ballast_keeper_buyback_pool_received_total{mint=\"Sol\"} 2"), "{body}");
    }

    #[test]
    fn stale_scans_are_unhealthy() {
        let m = Metrics::default();
        m.last_scan_unix.store(1_000, Ordering::Relaxed);
        assert!(m.health(1_050, 60).is_ok());
        assert_eq!(m.health(1_061, 60), Err("no recent scan\n".to_string()));
    }

    #[test]
    fn a_stale_or_unreadable_feed_is_unhealthy_and_every_feed_age_is_exported() {
        let m = Metrics::default();
        m.last_scan_unix.store(1_000, Ordering::Relaxed);
        let feed = |label: &str, age_secs| FeedStatus {
            label: label.into(),
            address: anchor_lang::prelude::Pubkey::new_from_array([1; 32]),
            age_secs,
            max_age_secs: 600,
        };
        m.record_feeds(vec![feed("native", Some(12)), feed("Mkt", Some(600))]);
        assert!(m.health(1_000, 60).is_ok());
        let body = m.render();
        assert!(body.contains("ballast_keeper_feed_age_seconds{feed=\"native\",address=\"4vJ9JU1bJJE96FWSJKvHsmmFADCg4gpZQff4P3bkLKi\"} 12"), "{body}");
        assert!(body.contains("ballast_keeper_feed_max_age_seconds{feed=\"Mkt\""), "{body}");
        m.record_feeds(vec![feed("native", Some(12)), feed("Mkt", Some(601)), feed("Dead", None)]);
        let why = m.health(1_000, 60).unwrap_err();
        assert!(why.contains("feed Mkt") && why.contains("601 s old") && why.contains("feed Dead"), "{why}");
        assert!(m.render().contains("{feed=\"Dead\",address=\"4vJ9JU1bJJE96FWSJKvHsmmFADCg4gpZQff4P3bkLKi\"} -1"));
    }
}
