//! What every benchmark section needs: a Portico process (started on a data directory and a
//! database, its CPU time and memory read from /proc), readiness, and closed-loop load over
//! a fixed window with latency percentiles.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};

/// How long each measured window lasts.
pub(crate) const WINDOW: Duration = Duration::from_secs(4);

/// A running Portico.
pub(crate) struct Server {
    child: Child,
}

impl Server {
    /// Starts `binary` on `data` (and `database`, else the data directory's SQLite).
    pub(crate) fn start(
        binary: &Path,
        data: &Path,
        port: u16,
        database: Option<&str>,
    ) -> Result<Self> {
        let mut command = Command::new(binary);
        command.arg("--data-dir").arg(data);
        if let Some(url) = database {
            command.args(["--database-url", url]);
        }
        let child = command
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()?;
        Ok(Self { child })
    }

    fn stat_field(&self, index: usize) -> Result<u64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))?;
        // Fields after the parenthesised command name.
        let rest = stat
            .rsplit_once(')')
            .map(|(_, r)| r)
            .context("stat format")?;
        rest.split_whitespace()
            .nth(index)
            .context("stat field")?
            .parse()
            .context("stat number")
    }

    pub(crate) fn cpu_seconds(&self) -> Result<f64> {
        // utime and stime are fields 14 and 15 (1-based), i.e. 11 and 12 after the name.
        let ticks = self.stat_field(11)? + self.stat_field(12)?;
        Ok(ticks as f64 / 100.0)
    }

    pub(crate) fn rss_kb(&self) -> Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .context("VmRSS")?
            .parse()
            .context("VmRSS number")
    }

    pub(crate) fn stop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

pub(crate) async fn wait_ready(http: &reqwest::Client, base: &str) -> Result<()> {
    for _ in 0..200 {
        if http
            .get(format!("{base}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("server did not become ready")
}

pub(crate) fn num_cpus() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// Throughput and latency of one window.
pub(crate) struct LoadResult {
    pub(crate) rate: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) cores: f64,
}

/// Runs `concurrency` closed-loop workers for the window; every response's status must be
/// one `expected` accepts.
pub(crate) async fn load<F, Fut>(
    server: &mut Server,
    concurrency: usize,
    request: F,
    expected: fn(u16) -> bool,
) -> Result<LoadResult>
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = reqwest::Result<reqwest::Response>> + Send,
{
    // Warm-up: connections, caches.
    for _ in 0..concurrency.max(8) {
        let response = request().await?;
        if !expected(response.status().as_u16()) {
            bail!("warm-up request failed: {}", response.status());
        }
        response.bytes().await?;
    }
    let cpu_before = server.cpu_seconds()?;
    let started = Instant::now();
    let deadline = started + WINDOW;
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let request = request.clone();
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let sent = Instant::now();
                let response = request().await?;
                let ok = expected(response.status().as_u16());
                response.bytes().await?;
                if !ok {
                    bail!("request failed");
                }
                latencies.push(sent.elapsed());
            }
            Ok::<_, anyhow::Error>(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for worker in workers {
        latencies.extend(worker.await??);
    }
    let wall = started.elapsed().as_secs_f64();
    let cpu = server.cpu_seconds()? - cpu_before;
    latencies.sort();
    let pick = |q: f64| {
        let index = ((latencies.len() as f64 - 1.0) * q).round() as usize;
        latencies
            .get(index)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    Ok(LoadResult {
        rate: latencies.len() as f64 / wall,
        p50_ms: pick(0.50),
        p99_ms: pick(0.99),
        cores: cpu / wall,
    })
}
