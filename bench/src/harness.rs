//! What every benchmark section needs: a Portico process (started on a data directory and a
//! database, pinned to cores, its CPU time and memory read from /proc), readiness, and
//! closed-loop load over a fixed window with latency percentiles.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};

static QUICK: AtomicBool = AtomicBool::new(false);

/// `--quick`: every row runs briefly, with small data (a smoke run, for CI).
pub(crate) fn set_quick() {
    QUICK.store(true, Ordering::Relaxed);
}

/// Whether this is a `--quick` run.
pub(crate) fn quick() -> bool {
    QUICK.load(Ordering::Relaxed)
}

/// How long each measured window lasts.
pub(crate) fn window() -> Duration {
    if quick() {
        Duration::from_millis(300)
    } else {
        Duration::from_secs(4)
    }
}

/// The core the server is pinned to for one-core rows, and the one the load generator keeps.
pub(crate) const SERVER_CORE: &str = "0";
/// The load generator's core (the last one).
pub(crate) fn generator_core() -> String {
    (num_cpus().saturating_sub(1)).to_string()
}
/// Every core.
pub(crate) fn all_cores() -> String {
    format!("0-{}", num_cpus().saturating_sub(1))
}

/// Whether util-linux's `taskset` is there to pin processes with.
fn taskset_works() -> bool {
    static WORKS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *WORKS.get_or_init(|| {
        Command::new("taskset")
            .arg("-V")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// Sets the CPU affinity of every thread of `pid` (util-linux's `taskset`). Where the tool is
/// missing the rows run unpinned, and say so.
pub(crate) fn pin(pid: u32, cores: &str) {
    let pinned = Command::new("taskset")
        .args(["-a", "-p", "-c", cores, &pid.to_string()])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !pinned {
        eprintln!("warning: could not pin process {pid} to cores {cores} (taskset)");
    }
}

/// A running Portico.
pub(crate) struct Server {
    child: Child,
}

impl Server {
    /// Starts `binary` on `data` (and `database`, else the data directory's SQLite), with
    /// `env` added to its environment.
    pub(crate) fn start(
        binary: &Path,
        data: &Path,
        port: u16,
        database: Option<&str>,
        env: &[(&str, &str)],
    ) -> Result<Self> {
        // Started on every core, whatever this process is pinned to (the server sizes its
        // hashing pool by the cores it may use when it starts).
        let mut command = if taskset_works() {
            let mut command = Command::new("taskset");
            command.args(["-c", &all_cores()]).arg(binary);
            command
        } else {
            Command::new(binary)
        };
        command.arg("--data-dir").arg(data);
        if let Some(url) = database {
            command.args(["--database-url", url]);
        }
        // One address (the load generator's) makes every request: lift the per-address and
        // per-account limits that would otherwise refuse a benchmark's sign-ins.
        for limit in [
            "PORTICO_RATE_LIMIT_PER_IP",
            "PORTICO_RATE_LIMIT_PER_IP_BURST",
            "PORTICO_RATE_LIMIT_PER_ACCOUNT",
            "PORTICO_RATE_LIMIT_PER_ACCOUNT_BURST",
            "PORTICO_RATE_LIMIT_LOOKUPS",
            "PORTICO_RATE_LIMIT_LOOKUPS_BURST",
            "PORTICO_RATE_LIMIT_FLOWS",
            "PORTICO_RATE_LIMIT_FLOWS_BURST",
        ] {
            command.env(limit, "100000000");
        }
        command.envs(env.iter().copied());
        let child = command
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()?;
        Ok(Self { child })
    }

    /// Pins the server to `cores` (all its threads).
    pub(crate) fn pin(&self, cores: &str) {
        pin(self.child.id(), cores);
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

    /// CPU seconds the server has used so far: in user space, and in all (with the kernel's
    /// share, on loopback most of it the network stack working for both ends).
    pub(crate) fn cpu_seconds(&self) -> Result<(f64, f64)> {
        // utime and stime are fields 14 and 15 (1-based), i.e. 11 and 12 after the name.
        let (user, system) = (self.stat_field(11)?, self.stat_field(12)?);
        Ok((user as f64 / 100.0, (user + system) as f64 / 100.0))
    }

    /// Resident memory now, in KiB.
    pub(crate) fn rss_kb(&self) -> Result<u64> {
        self.status_kb("VmRSS:")
    }

    /// The most resident memory the server has had since it started, in KiB.
    pub(crate) fn peak_rss_kb(&self) -> Result<u64> {
        self.status_kb("VmHWM:")
    }

    fn status_kb(&self, field: &str) -> Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.split_whitespace().next())
            .with_context(|| format!("{field} in /proc status"))?
            .parse()
            .with_context(|| format!("{field} number"))
    }

    /// The server's process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops the server (SIGTERM, as an operator would) and waits for it to exit.
    pub(crate) fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// How many sockets process `pid` holds open.
pub(crate) fn open_sockets(pid: u32) -> Result<usize> {
    Ok(std::fs::read_dir(format!("/proc/{pid}/fd"))?
        .filter_map(Result::ok)
        .filter(|fd| {
            std::fs::read_link(fd.path())
                .is_ok_and(|target| target.to_string_lossy().starts_with("socket:"))
        })
        .count())
}

/// A section that fails part-way leaves no server behind.
impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Waits until `/readyz` answers (polled every 2 ms, so start-up time reads close).
pub(crate) async fn wait_ready(http: &reqwest::Client, base: &str) -> Result<()> {
    for _ in 0..10_000 {
        if http
            .get(format!("{base}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    bail!("server did not become ready")
}

/// The machine's cores, as the process saw them at its first call (before it pinned itself to
/// the load generator's core, after which the standard library would say one).
pub(crate) fn num_cpus() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    })
}

/// Throughput and latency of one window.
pub(crate) struct LoadResult {
    pub(crate) rate: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    /// Server cores used over the window.
    pub(crate) cores: f64,
    /// Of those, in user space.
    pub(crate) user_cores: f64,
}

/// Reads a response to its end: its status.
pub(crate) async fn drained(response: reqwest::Result<reqwest::Response>) -> Result<u16> {
    let response = response?;
    let status = response.status().as_u16();
    response.bytes().await?;
    Ok(status)
}

/// Runs `concurrency` closed-loop workers for the window; each call of `request` is one
/// measured unit (a request, or a whole flow) answering with the status that decides it, which
/// `expected` must accept.
pub(crate) async fn load<F, Fut>(
    server: &mut Server,
    concurrency: usize,
    request: F,
    expected: fn(u16) -> bool,
) -> Result<LoadResult>
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<u16>> + Send,
{
    // Warm-up: connections, caches.
    for _ in 0..concurrency.max(8) {
        let status = request().await?;
        if !expected(status) {
            bail!("warm-up request failed: {status}");
        }
    }
    let cpu_before = server.cpu_seconds()?;
    let started = Instant::now();
    let deadline = started + window();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let request = request.clone();
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let sent = Instant::now();
                let status = request().await?;
                if !expected(status) {
                    bail!("request failed: {status}");
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
    let cpu_after = server.cpu_seconds()?;
    let rate = latencies.len() as f64 / wall;
    let (p50_ms, p99_ms) = percentiles(latencies);
    Ok(LoadResult {
        rate,
        p50_ms,
        p99_ms,
        cores: (cpu_after.1 - cpu_before.1) / wall,
        user_cores: (cpu_after.0 - cpu_before.0) / wall,
    })
}

/// p50 and p99 of `durations`, in milliseconds.
pub(crate) fn percentiles(durations: impl IntoIterator<Item = Duration>) -> (f64, f64) {
    let mut all: Vec<Duration> = durations.into_iter().collect();
    all.sort();
    let pick = |q: f64| {
        let index = ((all.len() as f64 - 1.0) * q).round() as usize;
        all.get(index).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    (pick(0.50), pick(0.99))
}
