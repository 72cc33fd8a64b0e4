//! Sign-ins with an emailed code, no password hash involved: on the hosted pages as a web app
//! sends a person there (authorize, the address, the code, then the app redeems the
//! authorization code with its secret and PKCE), and over the native API as a mobile app makes
//! them (initiate, challenge, the `oob` grant). The codes travel as real mail: Portico's relay
//! client hands them to the benchmark's SMTP server, and each flow reads its own.
//!
//! Each front door gets its capacity (flows per second on every core, closed loop),
//! then every step's latency at half of that rate (open loop, flows started on a clock, as
//! people arrive), against the 5 ms p99 the issue sets per step. Each flow is a different
//! person (the accounts are seeded in SQL), since codes to one address are throttled.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use base64::Engine as _;

use crate::harness::{Server, all_cores, load, num_cpus, percentiles, window};
use crate::mailbox::Mailbox;
use crate::report::{Report, Row, Target};
use crate::{member, text_field};

/// The tenant the section runs in.
const TENANT: &str = "bench-rs";
/// Where the web app's codes go (never followed: the benchmark redeems them itself).
const REDIRECT: &str = "https://codes.bench.example/callback";
/// Flows in flight when measuring capacity (each spends part of its time waiting for mail).
const CONCURRENCY: usize = 16;
/// The bound the issue sets on every step's p99 at half of capacity.
const STEP_P99_MS: f64 = 5.0;

/// The apps made before the server started, and the seeded people.
pub(crate) struct Prepared {
    native: String,
    web: String,
    web_secret: String,
    /// The next unused seeded account (`user{n}@bench.example`).
    next_user: Arc<AtomicUsize>,
    users: usize,
}

/// How many accounts to seed: one per flow, with room to spare.
pub(crate) fn users_needed() -> usize {
    if crate::harness::quick() {
        5_000
    } else {
        200_000
    }
}

/// A native app and a web app sharing a flow of emailed codes only. The accounts are seeded
/// by the caller (numbered from `first_user`).
pub(crate) fn prepare(
    cli: &impl Fn(&[&str]) -> Result<serde_json::Value>,
    first_user: usize,
) -> Result<Prepared> {
    let app = |args: &[&str]| -> Result<serde_json::Value> {
        let mut all = vec!["app", "create", "--tenant", TENANT];
        all.extend_from_slice(args);
        cli(&all)
    };
    let native = text_field(
        &app(&[
            "--name",
            "codes-mobile",
            "--kind",
            "native",
            "--native-auth",
        ])?,
        "client_id",
    )?;
    let web_app = app(&[
        "--name",
        "codes-web",
        "--kind",
        "web",
        "--redirect-uri",
        REDIRECT,
    ])?;
    cli(&[
        "flow",
        "create",
        "--tenant",
        TENANT,
        "--name",
        "codes",
        "--methods",
        "email-otp",
        "--app",
        &native,
        "--app",
        &text_field(&web_app, "client_id")?,
    ])?;
    Ok(Prepared {
        native,
        web: text_field(&web_app, "client_id")?,
        web_secret: text_field(&web_app, "client_secret")?,
        next_user: Arc::new(AtomicUsize::new(first_user)),
        users: first_user + users_needed(),
    })
}

/// Which front door a flow goes through.
#[derive(Clone, Copy)]
enum Door {
    Pages,
    Native,
}

impl Door {
    fn label(self) -> &'static str {
        match self {
            Self::Pages => "browser sign-in, email code",
            Self::Native => "native sign-in, email code",
        }
    }

    fn steps(self) -> &'static [&'static str] {
        match self {
            Self::Pages => &[
                "authorize (sign-in page)",
                "address (code mailed)",
                "code arrives (SMTP)",
                "code (redirect to app)",
                "token (code + secret + PKCE)",
            ],
            Self::Native => &[
                "initiate",
                "challenge (code mailed)",
                "code arrives (SMTP)",
                "token (oob grant)",
            ],
        }
    }
}

/// What every flow shares.
#[derive(Clone)]
struct Context {
    http: reqwest::Client,
    base: String,
    mailbox: Mailbox,
    prepared: Arc<Prepared>,
}

impl Context {
    /// A person nobody has used in this run.
    fn next_person(&self) -> Result<String> {
        let n = self.prepared.next_user.fetch_add(1, Ordering::Relaxed);
        if n >= self.prepared.users {
            bail!("the seeded accounts ran out; seed more");
        }
        Ok(format!("user{n}@bench.example"))
    }

    /// One whole flow: how long each step took.
    async fn flow(&self, door: Door) -> Result<Vec<Duration>> {
        match door {
            Door::Pages => self.pages().await,
            Door::Native => self.native().await,
        }
    }

    /// Posts `form` to the token endpoint; an answer without an ID token fails the flow.
    async fn redeem(&self, form: &[(&str, &str)]) -> Result<()> {
        let url = format!("{}/{TENANT}/oauth2/v2.0/token", self.base);
        let tokens = json(self.http.post(url).form(form).send().await?).await?;
        text_field(&tokens, "id_token").map(drop)
    }

    async fn native(&self) -> Result<Vec<Duration>> {
        let email = self.next_person()?;
        let client_id = self.prepared.native.as_str();
        let url = |path: &str| format!("{}/{TENANT}/oauth2/v2.0/{path}", self.base);
        let mut laps = Laps::start();
        let types = "oob redirect";
        let initiated = json(
            self.http
                .post(url("initiate"))
                .form(&[
                    ("client_id", client_id),
                    ("username", &email),
                    ("challenge_type", types),
                ])
                .send()
                .await?,
        )
        .await?;
        laps.lap();
        let challenged = json(
            self.http
                .post(url("challenge"))
                .form(&[
                    ("client_id", client_id),
                    (
                        "continuation_token",
                        member(&initiated, "continuation_token"),
                    ),
                    ("challenge_type", types),
                ])
                .send()
                .await?,
        )
        .await?;
        if member(&challenged, "challenge_type") != "oob" {
            bail!("challenge: {challenged}");
        }
        laps.lap();
        let (code, _) = self.mailbox.code_for(&email).await?;
        laps.lap();
        self.redeem(&[
            ("client_id", client_id),
            ("grant_type", "oob"),
            (
                "continuation_token",
                member(&challenged, "continuation_token"),
            ),
            ("oob", code.as_str()),
            ("scope", "openid offline_access"),
        ])
        .await?;
        laps.lap();
        Ok(laps.steps)
    }

    async fn pages(&self) -> Result<Vec<Duration>> {
        let email = self.next_person()?;
        let prepared = &self.prepared;
        let mut browser = Browser::default();
        // Unreserved characters only (RFC 7636); one verifier serves every flow.
        let verifier = "bench-verifier-0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ";
        let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes()),
        );
        let mut laps = Laps::start();
        let page = browser
            .send(
                self.http
                    .get(format!("{}/{TENANT}/oauth2/v2.0/authorize", self.base))
                    .query(&[
                        ("client_id", prepared.web.as_str()),
                        ("response_type", "code"),
                        ("redirect_uri", REDIRECT),
                        ("scope", "openid offline_access"),
                        ("state", "bench-state"),
                        ("nonce", "bench-nonce"),
                        ("code_challenge", &challenge),
                        ("code_challenge_method", "S256"),
                    ]),
            )
            .await?;
        laps.lap();
        let signin = format!("{}/{TENANT}/signin", self.base);
        let mut form = crate::signin::hidden_inputs(&page.text().await?);
        form.extend([
            ("action".to_owned(), "use_code".to_owned()),
            ("email".to_owned(), email.clone()),
        ]);
        let page = browser.send(self.http.post(&signin).form(&form)).await?;
        let page = page.text().await?;
        if !page.contains("one-time-code") {
            bail!("no code page after the address: {page}");
        }
        laps.lap();
        let (code, _) = self.mailbox.code_for(&email).await?;
        laps.lap();
        let mut form = crate::signin::hidden_inputs(&page);
        form.extend([
            ("action".to_owned(), "verify".to_owned()),
            ("code".to_owned(), code),
        ]);
        let done = browser.send(self.http.post(&signin).form(&form)).await?;
        let location = done
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let Some(code) = location
            .split_once("code=")
            .map(|(_, rest)| rest.split('&').next().unwrap_or_default().to_owned())
        else {
            bail!(
                "no redirect to the app after the code: {}",
                done.text().await?
            );
        };
        laps.lap();
        self.redeem(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("client_id", prepared.web.as_str()),
            ("client_secret", prepared.web_secret.as_str()),
            ("code_verifier", verifier),
        ])
        .await?;
        laps.lap();
        Ok(laps.steps)
    }
}

/// The time each step of a flow took.
struct Laps {
    steps: Vec<Duration>,
    since: Instant,
}

impl Laps {
    fn start() -> Self {
        Self {
            steps: Vec::with_capacity(5),
            since: Instant::now(),
        }
    }

    /// Ends a step (and starts the next).
    fn lap(&mut self) {
        let now = Instant::now();
        self.steps.push(now - self.since);
        self.since = now;
    }
}

/// A JSON answer, whatever its status (a refusal lacks the fields the next step needs).
async fn json(response: reqwest::Response) -> Result<serde_json::Value> {
    let status = response.status();
    let body = response.bytes().await?;
    serde_json::from_slice(&body)
        .with_context(|| format!("{status}: {}", String::from_utf8_lossy(&body)))
}

/// One person's browser: the cookies the pages set, sent back on every request (the
/// connection pool is shared: a browser's own connection would cost the generator a handshake
/// per flow, which is not what the server pays for).
#[derive(Default)]
struct Browser {
    cookies: Vec<String>,
}

impl Browser {
    async fn send(&mut self, request: reqwest::RequestBuilder) -> Result<reqwest::Response> {
        let request = if self.cookies.is_empty() {
            request
        } else {
            request.header(reqwest::header::COOKIE, self.cookies.join("; "))
        };
        let response = request.send().await?;
        for set in response.headers().get_all(reqwest::header::SET_COOKIE) {
            let Some(pair) = set.to_str().ok().and_then(|s| s.split(';').next()) else {
                continue;
            };
            let name = pair.split('=').next().unwrap_or_default();
            self.cookies
                .retain(|c| c.split('=').next().unwrap_or_default() != name);
            self.cookies.push(pair.to_owned());
        }
        if response.status().is_client_error() || response.status().is_server_error() {
            bail!("{}: {}", response.status(), response.text().await?);
        }
        Ok(response)
    }
}

/// The capacity and per-step rows for both front doors (the server on every core).
pub(crate) async fn email_code_rows(
    prepared: Prepared,
    mailbox: Mailbox,
    server: &mut Server,
    base: &str,
    report: &mut Report,
) -> Result<()> {
    server.pin(&all_cores());
    let context = Context {
        // Redirects are the browser's to follow: the last one leads to the app, which the
        // flow reads rather than follows.
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(256)
            .build()?,
        base: base.to_owned(),
        mailbox,
        prepared: Arc::new(prepared),
    };
    let cores = num_cpus();
    for door in [Door::Pages, Door::Native] {
        let flow = {
            let context = context.clone();
            move || {
                let context = context.clone();
                async move {
                    context.flow(door).await?;
                    Ok(200)
                }
            }
        };
        let capacity = load(server, CONCURRENCY, flow, |s| s == 200).await?;
        report.add(Row::load(
            format!("{}, {cores} cores, c={CONCURRENCY}", door.label()),
            &capacity,
            "flows/s",
        ));
        let rate = capacity.rate / 2.0;
        let steps = paced(&context, door, rate).await?;
        for (index, name) in door.steps().iter().enumerate() {
            let (p50, p99) = percentiles(steps.iter().filter_map(|s| s.get(index).copied()));
            report.add(
                Row::new(
                    format!("  step: {name}, at {rate:.0} flows/s (half)"),
                    p99,
                    "ms p99",
                )
                .latency(p50, p99)
                .target(Target::P99AtMost(STEP_P99_MS)),
            );
        }
    }
    Ok(())
}

/// Starts flows at `rate` per second for one window, as people arrive (whether or not the
/// earlier ones have finished): each flow's step times.
async fn paced(context: &Context, door: Door, rate: f64) -> Result<Vec<Vec<Duration>>> {
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate.max(1.0)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let deadline = Instant::now() + window();
    let mut flows = tokio::task::JoinSet::new();
    while Instant::now() < deadline {
        ticker.tick().await;
        let context = context.clone();
        flows.spawn(async move { context.flow(door).await });
    }
    let mut steps = Vec::new();
    while let Some(flow) = flows.join_next().await {
        steps.push(flow.context("flow task")??);
    }
    Ok(steps)
}
