//! Sign-ins over the native API, whole (every request of the flow, timed as one): with a
//! password, against the argon2id floor of the same cores (the hash is the work; the rest
//! must not cost much beside it); and with a passkey (one ECDSA verification, no hash),
//! printed beside the password sign-ins. The passkey is made the way a person makes one:
//! signed in on the hosted pages, on the account's security page.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context as _, Result, bail};

use crate::harness::{Server, all_cores, drained, load, num_cpus};
use crate::report::{Report, Row, Target};
use crate::webauthn::SoftPasskey;
use crate::{answer_to, floors, member, text_field};

/// The tenant the section runs in.
const TENANT: &str = "bench-rs";
/// The account that signs in.
const EMAIL: &str = "signin@bench.example";
pub(crate) const PASSWORD: &str = "bench-Password-1";
/// Accounts the password sign-ins take in turn (seeded with `PASSWORD` after the email-code
/// rows' people): people sign in to their own accounts, so parallel sign-ins to one account
/// (and its lockout record, written twice by each) would measure a case real traffic lacks.
pub(crate) const PASSWORD_ACCOUNTS: usize = 10_000;
/// Where the web app's codes would go (never followed).
const REDIRECT: &str = "https://app.bench.example/callback";

/// What `prepare` made before the server started.
pub(crate) struct Prepared {
    mobile: String,
    web: String,
    origin: String,
}

/// The account, a native app and a web app sharing a flow of passwords and passkeys, and the
/// tenant's passkey relying party: `localhost` at the server's port (a relying-party id must
/// be a host name; the requests themselves go to 127.0.0.1).
pub(crate) fn prepare(
    cli: &impl Fn(&[&str]) -> Result<serde_json::Value>,
    port: u16,
) -> Result<Prepared> {
    cli(&[
        "user",
        "create",
        "--tenant",
        TENANT,
        "--email",
        EMAIL,
        "--password",
        PASSWORD,
    ])?;
    let mobile = text_field(
        &cli(&[
            "app",
            "create",
            "--tenant",
            TENANT,
            "--name",
            "signin-mobile",
            "--kind",
            "native",
            "--native-auth",
        ])?,
        "client_id",
    )?;
    let web = text_field(
        &cli(&[
            "app",
            "create",
            "--tenant",
            TENANT,
            "--name",
            "signin-web",
            "--kind",
            "web",
            "--redirect-uri",
            REDIRECT,
        ])?,
        "client_id",
    )?;
    cli(&[
        "flow",
        "create",
        "--tenant",
        TENANT,
        "--name",
        "signin",
        "--methods",
        "password,passkey",
        "--app",
        &mobile,
        "--app",
        &web,
    ])?;
    let origin = format!("http://localhost:{port}");
    cli(&[
        "tenant",
        "passkeys",
        "--tenant",
        TENANT,
        "--rp-id",
        "localhost",
        "--origin",
        &origin,
    ])?;
    Ok(Prepared {
        mobile,
        web,
        origin,
    })
}

/// The password and passkey rows (the server on every core).
pub(crate) async fn sign_in_rows(
    prepared: Prepared,
    server: &mut Server,
    http: &reqwest::Client,
    base: &str,
    report: &mut Report,
) -> Result<()> {
    server.pin(&all_cores());
    let cores = num_cpus();
    let hashes = floors::argon2_rate(cores);
    let initiate = format!("{base}/{TENANT}/oauth2/v2.0/initiate");
    let challenge = format!("{base}/{TENANT}/oauth2/v2.0/challenge");
    let token = format!("{base}/{TENANT}/oauth2/v2.0/token");

    // Enough flows in flight to keep every hashing thread busy.
    let concurrency = 4 * cores;
    let turn = Arc::new(AtomicUsize::new(0));
    let password = {
        let (http, initiate, token, mobile) = (
            http.clone(),
            initiate.clone(),
            token.clone(),
            prepared.mobile.clone(),
        );
        move || {
            let (http, initiate, token, mobile) = (
                http.clone(),
                initiate.clone(),
                token.clone(),
                mobile.clone(),
            );
            let account = crate::email_code::users_needed()
                + turn.fetch_add(1, Ordering::Relaxed) % PASSWORD_ACCOUNTS;
            async move {
                let username = format!("user{account}@bench.example");
                let initiated = answer_to(
                    &http,
                    &initiate,
                    &[
                        ("client_id", mobile.as_str()),
                        ("username", &username),
                        ("challenge_type", "password redirect"),
                    ],
                )
                .await?;
                let continuation = member(&initiated, "continuation_token");
                drained(
                    http.post(&token)
                        .form(&[
                            ("client_id", mobile.as_str()),
                            ("grant_type", "password"),
                            ("continuation_token", continuation),
                            ("password", PASSWORD),
                            ("scope", "openid offline_access"),
                        ])
                        .send()
                        .await,
                )
                .await
            }
        }
    };
    let result = load(server, concurrency, password.clone(), |s| s == 200).await?;
    let password_row = Row::load(
        format!(
            "native sign-in, password (argon2id), {cores} cores (used {:.2}), c={concurrency}, {PASSWORD_ACCOUNTS} accounts",
            result.cores
        ),
        &result,
        "sign-ins/s",
    )
    .floor(hashes, format!("argon2id hashes/s, {cores} threads"))
    .target(Target::RatioAtLeast(0.9));
    let password_rate = password_row.result();
    report.add(password_row);
    pool_bound_row(server, http, base, password, report).await?;

    let passkey = Arc::new(enrol(base, &prepared).await?);
    for concurrency in [1usize, 16] {
        let request = {
            let (http, initiate, challenge, token, mobile, passkey) = (
                http.clone(),
                initiate.clone(),
                challenge.clone(),
                token.clone(),
                prepared.mobile.clone(),
                Arc::clone(&passkey),
            );
            move || {
                let (http, initiate, challenge, token, mobile, passkey) = (
                    http.clone(),
                    initiate.clone(),
                    challenge.clone(),
                    token.clone(),
                    mobile.clone(),
                    Arc::clone(&passkey),
                );
                async move {
                    let types = "passkey redirect";
                    let initiated = answer_to(
                        &http,
                        &initiate,
                        &[
                            ("client_id", mobile.as_str()),
                            ("username", EMAIL),
                            ("challenge_type", types),
                        ],
                    )
                    .await?;
                    let continuation = member(&initiated, "continuation_token");
                    let challenged = answer_to(
                        &http,
                        &challenge,
                        &[
                            ("client_id", mobile.as_str()),
                            ("continuation_token", continuation),
                            ("challenge_type", types),
                        ],
                    )
                    .await?;
                    // A refused answer (empty fields) fails the row.
                    let fields = passkey
                        .sign_in(challenged.get("passkey_options").unwrap_or_default())
                        .unwrap_or_default();
                    let mut form: Vec<(&str, &str)> = vec![
                        ("client_id", mobile.as_str()),
                        ("grant_type", "passkey"),
                        (
                            "continuation_token",
                            member(&challenged, "continuation_token"),
                        ),
                        ("scope", "openid offline_access"),
                    ];
                    form.extend(fields.iter().map(|(k, v)| (*k, v.as_str())));
                    drained(http.post(&token).form(&form).send().await).await
                }
            }
        };
        let result = load(server, concurrency, request, |s| s == 200).await?;
        report.add(
            Row::load(
                format!("native sign-in, passkey, {cores} cores, c={concurrency}"),
                &result,
                "sign-ins/s",
            )
            .floor(password_rate, "password sign-ins/s above"),
        );
    }
    Ok(())
}

/// Other requests while the hashing pool is full: the JWKS document at concurrency 4, alone
/// and while password sign-ins keep every hashing thread busy (and a queue waiting). Its
/// p99 with the sign-ins running, against its p99 alone: what waiting behind hashes costs a
/// request that needs none.
async fn pool_bound_row<F, Fut>(
    server: &mut Server,
    http: &reqwest::Client,
    base: &str,
    password: F,
    report: &mut Report,
) -> Result<()>
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<u16>> + Send,
{
    let url = format!("{base}/{TENANT}/discovery/v2.0/keys");
    let jwks = {
        let http = http.clone();
        move || {
            let (http, url) = (http.clone(), url.clone());
            async move { drained(http.get(&url).send().await).await }
        }
    };
    let alone = load(server, 4, jwks.clone(), |s| s == 200).await?;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut hashing = Vec::new();
    for _ in 0..4 * num_cpus() {
        let (password, stop) = (password.clone(), Arc::clone(&stop));
        hashing.push(tokio::spawn(async move {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                password().await?;
            }
            Ok::<_, anyhow::Error>(())
        }));
    }
    let busy = load(server, 4, jwks, |s| s == 200).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for task in hashing {
        task.await??;
    }
    let busy = busy?;
    report.add(
        Row::new(
            "JWKS p99 while password sign-ins fill the hashing pool, c=4",
            busy.p99_ms,
            "ms",
        )
        .latency(busy.p50_ms, busy.p99_ms)
        .floor(alone.p99_ms, "p99 ms alone"),
    );
    Ok(())
}

/// Makes a passkey for the account as a person would: signed in with the password on the
/// hosted pages, then "add a passkey" on the security page.
async fn enrol(base: &str, prepared: &Prepared) -> Result<SoftPasskey> {
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let page = browser
        .get(format!("{base}/{TENANT}/oauth2/v2.0/authorize"))
        .query(&[
            ("client_id", prepared.web.as_str()),
            ("response_type", "code"),
            ("redirect_uri", REDIRECT),
            ("scope", "openid"),
        ])
        .send()
        .await?
        .error_for_status()?
        .text()
        .await?;
    let mut form = hidden_inputs(&page);
    form.extend([
        ("email".to_owned(), EMAIL.to_owned()),
        ("password".to_owned(), PASSWORD.to_owned()),
    ]);
    let signed_in = browser
        .post(format!("{base}/{TENANT}/signin"))
        .form(&form)
        .send()
        .await?;
    if !signed_in.status().is_redirection() {
        bail!("hosted sign-in: {}", signed_in.text().await?);
    }
    let security = format!("{base}/{TENANT}/account/security");
    let post = |html: &str, fields: &[(&str, &str)]| {
        let mut form: Vec<(String, String)> = hidden_inputs(html)
            .into_iter()
            .filter(|(name, _)| name == "csrf_token" || name == "passkey_challenge")
            .collect();
        form.extend(
            fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        browser.post(&security).form(&form).send()
    };
    let page = browser.get(&security).send().await?.text().await?;
    let adding = post(&page, &[("action", "add")]).await?.text().await?;
    let options = script_json(&adding, "passkey-options")?;
    let (passkey, answer) = SoftPasskey::register(&prepared.origin, &options)?;
    let made = post(
        &adding,
        &[
            ("action", "register"),
            ("passkey_response", &answer),
            ("name", "Bench key"),
        ],
    )
    .await?
    .text()
    .await?;
    if !made.contains("id=\"notice\"") {
        bail!("the security page did not take the passkey: {made}");
    }
    Ok(passkey)
}

/// The hidden inputs of a page (their values are tokens and ids: nothing to unescape).
pub(crate) fn hidden_inputs(html: &str) -> Vec<(String, String)> {
    const OPEN: &str = "<input type=\"hidden\" name=\"";
    html.match_indices(OPEN)
        .filter_map(|(at, _)| {
            let rest = html.get(at + OPEN.len()..)?;
            let name = rest.get(..rest.find('"')?)?;
            let tag = rest.get(..rest.find('>')?)?;
            let value_at = tag.find("value=\"")? + "value=\"".len();
            let value = tag.get(value_at..)?;
            let value = value.get(..value.find('"')?)?;
            Some((name.to_owned(), value.to_owned()))
        })
        .collect()
}

/// The JSON in a page's `<script type="application/json" id="{id}">`.
fn script_json(html: &str, id: &str) -> Result<serde_json::Value> {
    let marker = format!("id=\"{id}\"");
    let at = html
        .find(&marker)
        .context("no passkey options on the page")?;
    let rest = html.get(at..).unwrap_or_default();
    let start = rest.find('>').context("script tag")? + 1;
    let end = rest.find("</script>").context("script end")?;
    Ok(serde_json::from_str(
        rest.get(start..end).unwrap_or_default(),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pages_hidden_inputs_and_json_script_are_read() {
        let html = r#"<form><input type="hidden" name="csrf_token" value="abc"><input type="hidden" name="flow" value="f1">
<script type="application/json" id="passkey-options" nonce="n">{"challenge":"x"}</script>"#;
        assert_eq!(
            hidden_inputs(html),
            vec![
                ("csrf_token".to_owned(), "abc".to_owned()),
                ("flow".to_owned(), "f1".to_owned())
            ]
        );
        assert_eq!(
            script_json(html, "passkey-options").ok(),
            Some(serde_json::json!({"challenge": "x"}))
        );
    }
}
