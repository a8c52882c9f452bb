//! Prometheus metrics and a health endpoint, served over plain HTTP/1.1.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

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
        out
    }

    /// Healthy while the last scan finished within `max_age_secs` of `now`.
    pub fn healthy(&self, now: i64, max_age_secs: i64) -> bool {
        let last = self.last_scan_unix.load(Ordering::Relaxed);
        last > 0 && now - last <= max_age_secs
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
                "/healthz" if metrics.healthy(now, max_scan_age_secs) => ("200 OK", "ok\n".to_string()),
                "/healthz" => ("503 Service Unavailable", "no recent scan\n".to_string()),
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
    fn stale_scans_are_unhealthy() {
        let m = Metrics::default();
        m.last_scan_unix.store(1_000, Ordering::Relaxed);
        assert!(m.healthy(1_050, 60));
        assert!(!m.healthy(1_061, 60));
    }
}
