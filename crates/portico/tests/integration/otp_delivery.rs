//! One-time codes and their durable delivery: .eml files, and SMTP to a real server (Python's
//! aiosmtpd), including a server that is down at first.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use portico::server::{DeliveryOptions, ServeOptions};
use portico_core::clock::{Clock as _, ManualClock};
use portico_core::ids::OtpChallengeId;
use portico_core::otp::{OtpCheck, OtpPurpose, OtpSendError};
use portico_core::outbox::{Channel, OutboundMessage};
use portico_delivery::{MailTransport, SmsTransport, Worker};
use portico_keys::SigningAlgorithm;

use crate::harness::{Backend, TestServer};
use crate::page::authorize;
use crate::smtp_relay::SmtpSink;
use portico_core::directory::AppKind;

fn code_mail(to: &str) -> impl FnOnce(&str) -> OutboundMessage {
    let to = to.to_owned();
    move |code| OutboundMessage {
        channel: Channel::Mail,
        to,
        subject: "Your Contoso code".into(),
        text: format!("Your code is {code}. It expires in 10 minutes."),
        html: Some(format!("<p>Your code is <strong>{code}</strong>.</p>")),
    }
}

pub(crate) async fn server_with_outbox(
    dir: &Path,
    configure: impl FnOnce(&mut portico_core::Settings),
) -> TestServer {
    TestServer::start_serving(
        Backend::Sqlite,
        SigningAlgorithm::Rs256,
        configure,
        ServeOptions {
            listen: "127.0.0.1:0".parse().unwrap(),
            public_url: None,
            tls: None,
            trusted_proxies: Vec::new(),
            metrics_listen: None,
            delivery: Some(file_delivery(dir)),
        },
    )
    .await
    .unwrap()
}

/// Mail and texts written as files under `dir` (`mail/*.eml`, `sms/*.json`).
pub(crate) fn file_delivery(dir: &Path) -> DeliveryOptions {
    let url = |kind: &str| {
        url::Url::from_directory_path(dir.join(kind))
            .unwrap()
            .to_string()
    };
    DeliveryOptions {
        mail_url: url("mail"),
        sms_url: url("sms"),
        mail_from: "Contoso <no-reply@contoso.example>".into(),
    }
}

/// Waits for the worker to write a file into `dir`; returns its contents.
pub(crate) async fn next_file(dir: &Path, extension: &str) -> String {
    for _ in 0..200 {
        if let Ok(entries) = std::fs::read_dir(dir) {
            let found = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .find(|p| p.extension().is_some_and(|e| e == extension));
            if let Some(path) = found {
                let text = std::fs::read_to_string(&path).unwrap();
                std::fs::remove_file(&path).unwrap();
                return text;
            }
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("nothing delivered to {}", dir.display());
}

/// The 8-digit code in a delivered message.
/// A code asked for by a test client on loopback (an explicit send: nothing reused).
fn ask(purpose: OtpPurpose, subject: &str) -> portico_core::otp::OtpRequest<'_> {
    ask_from("127.0.0.1", false, purpose, subject)
}

/// A code asked for from `ip`; `first` for a step's first code (which may reuse a recent one).
fn ask_from<'a>(
    ip: &str,
    first: bool,
    purpose: OtpPurpose,
    subject: &'a str,
) -> portico_core::otp::OtpRequest<'a> {
    portico_core::otp::OtpRequest {
        purpose,
        subject,
        requester: ip.parse().unwrap(),
        reuse_recent: first,
        sms_budget: None,
    }
}

pub(crate) fn code_in(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 8)
        .expect("an 8-digit code")
        .to_owned()
}

#[tokio::test]
async fn codes_arrive_as_eml_files_and_obey_their_limits() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_outbox(dir.path(), |s| s.otp.resend_interval_secs = 0).await;
    let portico = server.portico();
    let tenant = &server.tenant;
    let mail_dir = dir.path().join("mail");

    let challenge = portico
        .issue_otp(
            tenant,
            ask(OtpPurpose::SignIn, "alice@example.com"),
            code_mail("alice@example.com"),
        )
        .await
        .unwrap();
    let eml = next_file(&mail_dir, "eml").await;
    assert!(eml.contains("To: alice@example.com"), "{eml}");
    assert!(eml.contains("From: Contoso <no-reply@contoso.example>"));
    assert!(eml.contains("Subject: Your Contoso code"));
    assert!(eml.contains("multipart/alternative"));
    let code = code_in(&eml);

    assert_eq!(
        portico
            .check_otp(tenant, challenge, OtpPurpose::PasswordReset, &code)
            .await
            .unwrap(),
        OtpCheck::Unknown,
        "a code for one purpose never satisfies another"
    );
    let wrong = if code == "00000000" {
        "11111111"
    } else {
        "00000000"
    };
    assert_eq!(
        portico
            .check_otp(tenant, challenge, OtpPurpose::SignIn, wrong)
            .await
            .unwrap(),
        OtpCheck::Wrong { attempts_left: 3 }
    );
    assert_eq!(
        portico
            .check_otp(tenant, challenge, OtpPurpose::SignIn, &code)
            .await
            .unwrap(),
        OtpCheck::Valid
    );
    assert_eq!(
        portico
            .check_otp(tenant, challenge, OtpPurpose::SignIn, &code)
            .await
            .unwrap(),
        OtpCheck::Unknown,
        "single use"
    );

    // Five wrong tries kill a code, even for the right one afterwards.
    let challenge = portico
        .issue_otp(
            tenant,
            ask(OtpPurpose::SignIn, "bob@example.com"),
            code_mail("bob@example.com"),
        )
        .await
        .unwrap();
    let code = code_in(&next_file(&mail_dir, "eml").await);
    let wrong = if code == "00000000" {
        "11111111"
    } else {
        "00000000"
    };
    for left in (1..=4).rev() {
        assert_eq!(
            portico
                .check_otp(tenant, challenge, OtpPurpose::SignIn, wrong)
                .await
                .unwrap(),
            OtpCheck::Wrong {
                attempts_left: left
            }
        );
    }
    assert_eq!(
        portico
            .check_otp(tenant, challenge, OtpPurpose::SignIn, wrong)
            .await
            .unwrap(),
        OtpCheck::Exhausted
    );
    assert_eq!(
        portico
            .check_otp(tenant, challenge, OtpPurpose::SignIn, &code)
            .await
            .unwrap(),
        OtpCheck::Exhausted
    );

    // A new code invalidates the previous one.
    let old = portico
        .issue_otp(
            tenant,
            ask(OtpPurpose::SignIn, "carol@example.com"),
            code_mail("carol@example.com"),
        )
        .await
        .unwrap();
    let old_code = code_in(&next_file(&mail_dir, "eml").await);
    let new = portico
        .issue_otp(
            tenant,
            ask(OtpPurpose::SignIn, "carol@example.com"),
            code_mail("carol@example.com"),
        )
        .await
        .unwrap();
    let new_code = code_in(&next_file(&mail_dir, "eml").await);
    assert_eq!(
        portico
            .check_otp(tenant, old, OtpPurpose::SignIn, &old_code)
            .await
            .unwrap(),
        OtpCheck::Unknown
    );
    assert_eq!(
        portico
            .check_otp(tenant, new, OtpPurpose::SignIn, &new_code)
            .await
            .unwrap(),
        OtpCheck::Valid
    );
    assert_eq!(
        portico
            .check_otp(
                tenant,
                OtpChallengeId::new_random(),
                OtpPurpose::SignIn,
                "12345678"
            )
            .await
            .unwrap(),
        OtpCheck::Unknown
    );
    server.stop().await;
}

#[tokio::test]
async fn resends_are_throttled_and_codes_expire() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_outbox(dir.path(), |s| s.otp.lifetime_secs = -1).await;
    let portico = server.portico();
    let tenant = &server.tenant;
    let challenge = portico
        .issue_otp(
            tenant,
            ask(OtpPurpose::SignUp, "dave@example.com"),
            code_mail("dave@example.com"),
        )
        .await
        .unwrap();
    let code = code_in(&next_file(&dir.path().join("mail"), "eml").await);
    assert_eq!(
        portico
            .check_otp(tenant, challenge, OtpPurpose::SignUp, &code)
            .await
            .unwrap(),
        OtpCheck::Expired
    );
    let again = portico
        .issue_otp(
            tenant,
            ask(OtpPurpose::SignUp, "dave@example.com"),
            code_mail("dave@example.com"),
        )
        .await;
    assert!(
        matches!(again, Err(OtpSendError::Throttled { retry_after_secs }) if retry_after_secs > 0 && retry_after_secs <= 30)
    );
    server.stop().await;
}

#[tokio::test]
async fn starting_over_right_after_a_redeemed_code_gets_a_new_code_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_outbox(dir.path(), |_| {}).await;
    let portico = server.portico();
    let tenant = &server.tenant;
    let first = portico
        .issue_otp(
            tenant,
            ask(OtpPurpose::PasswordReset, "erin@example.com"),
            code_mail("erin@example.com"),
        )
        .await
        .unwrap();
    let code = code_in(&next_file(&dir.path().join("mail"), "eml").await);
    assert_eq!(
        portico
            .check_otp(tenant, first, OtpPurpose::PasswordReset, &code)
            .await
            .unwrap(),
        OtpCheck::Valid
    );
    // Within the resend interval, but the address was just proven: a second reset (an app
    // retrying) gets a code of its own, not "too many codes".
    let second = portico
        .issue_otp(
            tenant,
            ask_from(
                "127.0.0.1",
                true,
                OtpPurpose::PasswordReset,
                "erin@example.com",
            ),
            code_mail("erin@example.com"),
        )
        .await
        .unwrap();
    assert_ne!(second, first);
    // A code not yet redeemed still holds the interval.
    let third = portico
        .issue_otp(
            tenant,
            ask(OtpPurpose::PasswordReset, "erin@example.com"),
            code_mail("erin@example.com"),
        )
        .await;
    assert!(
        matches!(third, Err(OtpSendError::Throttled { .. })),
        "{third:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn sms_codes_arrive_as_json_files() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_outbox(dir.path(), |_| {}).await;
    server
        .portico()
        .issue_otp(
            &server.tenant,
            ask(OtpPurpose::Mfa, "+15551234567"),
            |code| OutboundMessage {
                channel: Channel::Sms,
                to: "+15551234567".into(),
                subject: String::new(),
                text: format!("Your Contoso code: {code}"),
                html: None,
            },
        )
        .await
        .unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&next_file(&dir.path().join("sms"), "json").await).unwrap();
    assert_eq!(json["to"], "+15551234567");
    assert_eq!(code_in(json["body"].as_str().unwrap()).len(), 8);
    server.stop().await;
}

/// SMTP down when the code is issued: the message waits in the outbox and arrives, once the
/// server is up, at the next retry.
#[tokio::test]
async fn smtp_outage_delays_mail_but_loses_none() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = TestServer::start().await;
    let store = Arc::clone(&server.portico().store);
    // A person asks for a sign-in code on the hosted page while the mail server is down.
    server.user("erin@example.com").await;
    let (client_id, _) = server.app(AppKind::Web).await;
    let browser = crate::harness::browser();
    let page = authorize(&server, &browser, &client_id, &[])
        .await
        .submit(
            &browser,
            &[("action", "use_code"), ("email", "erin@example.com")],
        )
        .await;
    assert_eq!(page.status, 200);
    assert!(!page.html.contains(r#"id="notice""#), "nothing failed yet");
    // The worker's clock starts once the message is queued, so it is due at once.
    let clock = ManualClock::new(server.portico().now());
    let smtp_url = format!("smtp://127.0.0.1:{port}");
    let worker = || {
        Worker::new(
            Arc::clone(&store),
            Arc::new(clock.clone()),
            MailTransport::from_url(&smtp_url).unwrap(),
            SmsTransport::from_url("file:///tmp/portico-unused-sms").unwrap(),
            "Contoso <no-reply@contoso.example>".parse().unwrap(),
            server.portico().outbox_seal(),
            Arc::clone(&server.server.portico) as _,
        )
        .unwrap()
    };
    assert_eq!(
        worker().run_once().await.unwrap(),
        1,
        "claimed, and failed: nothing listens"
    );
    // The page now says what happened, in the person's language.
    let told = page.reload(&browser).await;
    assert!(
        told.html.contains("taking longer than usual"),
        "{}",
        told.html
    );
    let german = page.reload_in(&browser, Some("de")).await;
    assert!(german.html.contains("länger als üblich"), "{}", german.html);

    let Some(sink) = SmtpSink::start(port) else {
        server.stop().await;
        return;
    };
    sink.wait_listening(port).await;
    assert_eq!(
        worker().run_once().await.unwrap(),
        0,
        "not due before its retry time"
    );
    clock.advance(11);
    assert_eq!(worker().run_once().await.unwrap(), 1);
    let messages = sink.messages();
    assert_eq!(messages.len(), 1, "delivered exactly once");
    assert!(messages[0].contains("erin@example.com"));
    // Once delivered, the notice goes away and the code signs the person in.
    let code = code_in(&messages[0]);
    let page = page.reload(&browser).await;
    assert!(!page.html.contains(r#"id="notice""#), "{}", page.html);
    let done = page
        .submit(&browser, &[("action", "verify"), ("code", &code)])
        .await;
    assert_eq!(done.status, 303, "{}", done.html);
    clock.advance(3600);
    assert_eq!(
        worker().run_once().await.unwrap(),
        0,
        "delivered messages stay delivered"
    );
    server.stop().await;
}

#[tokio::test]
async fn flooding_an_address_spends_the_flooders_quota_not_the_victims() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_outbox(dir.path(), |s| s.otp.resend_interval_secs = 0).await;
    let portico = server.portico();
    let send = |ip: &str| {
        portico.issue_otp(
            &server.tenant,
            ask_from(ip, false, OtpPurpose::SignIn, "victim@example.com"),
            code_mail("victim@example.com"),
        )
    };
    for _ in 0..10 {
        send("2001:db8:bad::1").await.unwrap();
    }
    // The flooder's next code is refused, from any host of the same /64...
    for ip in ["2001:db8:bad::1", "2001:db8:bad::ffff"] {
        assert!(matches!(
            send(ip).await,
            Err(OtpSendError::Throttled { .. })
        ));
    }
    // ...while the victim still gets theirs.
    send("198.51.100.7").await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn a_code_just_sent_is_reused_only_by_whoever_asked_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_outbox(dir.path(), |_| {}).await;
    let portico = server.portico();
    let first_step = |ip: &str| {
        portico.issue_otp(
            &server.tenant,
            ask_from(ip, true, OtpPurpose::SignIn, "victim@example.com"),
            code_mail("victim@example.com"),
        )
    };
    let victims = first_step("198.51.100.7").await.unwrap();
    // The victim starting over gets the same code...
    assert_eq!(first_step("198.51.100.7").await.unwrap(), victims);
    // ...someone else's flow does not ride on it (nor spend its tries).
    assert!(matches!(
        first_step("203.0.113.9").await,
        Err(OtpSendError::Throttled { .. })
    ));
    server.stop().await;
}

/// Every byte SQLite keeps for the database (the file and its write-ahead log).
fn database_bytes(db: &Path) -> Vec<u8> {
    let mut bytes = std::fs::read(db).unwrap();
    if let Ok(wal) = std::fs::read(db.with_extension("db-wal")) {
        bytes.extend(wal);
    }
    bytes
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

#[tokio::test]
async fn codes_never_rest_in_plaintext_and_message_bodies_go_once_useless() {
    let server = TestServer::start().await;
    let db = server.guard.sqlite_file().unwrap();
    let portico = server.portico();
    let store = Arc::clone(&portico.store);
    let tenant = &server.tenant;
    let code = Arc::new(std::sync::Mutex::new(String::new()));
    let remember = |to: &'static str| {
        let code = Arc::clone(&code);
        move |c: &str| {
            *code.lock().unwrap() = c.to_owned();
            code_mail(to)(c)
        }
    };
    portico
        .issue_otp(
            tenant,
            ask(OtpPurpose::SignIn, "vault@example.com"),
            remember("vault@example.com"),
        )
        .await
        .unwrap();
    let first = code.lock().unwrap().clone();
    // Queued: the database holds no trace of the code, only a sealed body.
    assert!(!contains(&database_bytes(&db), &first), "code at rest");
    let bodies = || {
        let db = db.clone();
        async move {
            let url = format!("sqlite://{}", db.display());
            let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url)
                .await
                .unwrap();
            let rows: Vec<(String, String)> =
                sqlx::query_as("SELECT recipient, payload FROM outbox ORDER BY created_at")
                    .fetch_all(&mut conn)
                    .await
                    .unwrap();
            rows
        }
    };
    let queued = bodies().await;
    assert_eq!(queued.len(), 1);
    assert!(queued[0].1.starts_with("sealed:v1:"), "{:?}", queued[0]);

    // Delivered: the worker opened it (the mail has the code), and the body is gone.
    let dir = tempfile::tempdir().unwrap();
    let delivery = file_delivery(dir.path());
    let clock = ManualClock::new(portico.now());
    let worker = Worker::new(
        Arc::clone(&store),
        Arc::new(clock.clone()),
        MailTransport::from_url(&delivery.mail_url).unwrap(),
        SmsTransport::from_url(&delivery.sms_url).unwrap(),
        delivery.mail_from.parse().unwrap(),
        portico.outbox_seal(),
        Arc::clone(&server.server.portico) as _,
    )
    .unwrap();
    assert_eq!(worker.run_once().await.unwrap(), 1);
    let eml = next_file(&dir.path().join("mail"), "eml").await;
    assert_eq!(code_in(&eml), first);
    assert_eq!(bodies().await[0].1, "", "delivered: body deleted");

    // Never delivered while its code lived (the worker was down): not sent late, and its
    // body is deleted by housekeeping once the code has expired.
    portico
        .issue_otp(
            tenant,
            ask(OtpPurpose::SignIn, "late@example.com"),
            remember("late@example.com"),
        )
        .await
        .unwrap();
    let expired = portico.now()
        + portico.settings.otp.lifetime_secs
        + portico_core::outbox::DISCARD_GRACE_SECS
        + 1;
    clock.advance(expired - clock.now());
    assert_eq!(
        worker.run_once().await.unwrap(),
        0,
        "an expired code is not sent"
    );
    store.purge_expired(expired).await.unwrap();
    let rows = bodies().await;
    assert!(
        rows.iter().all(|(_, payload)| payload.is_empty()),
        "{rows:?}"
    );

    // Given up (a permanent failure): its body is deleted too.
    portico
        .issue_otp(
            tenant,
            ask(OtpPurpose::SignIn, "bounced@example.com"),
            remember("bounced@example.com"),
        )
        .await
        .unwrap();
    let claimed: Vec<_> = store
        .claim_outbox(portico.now(), portico.now() + 60, 10)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.recipient == "bounced@example.com")
        .collect();
    assert_eq!(claimed.len(), 1);
    store
        .outbox_failed(claimed[0].id, None, "550 no such mailbox")
        .await
        .unwrap();
    let rows = bodies().await;
    assert!(
        rows.iter().all(|(_, payload)| payload.is_empty()),
        "{rows:?}"
    );
    server.stop().await;
}

fn sms_text(to: String) -> impl FnOnce(&str) -> OutboundMessage {
    move |code| OutboundMessage {
        channel: Channel::Sms,
        to,
        subject: String::new(),
        text: format!("Your code: {code}"),
        html: None,
    }
}

#[tokio::test]
async fn parallel_texts_cannot_slip_past_the_tenants_budget() {
    let server = TestServer::start().await;
    let portico = server.portico();
    let budget = portico_core::store::SmsBudget {
        since: portico.now() - 3600,
        texts: 5,
        new_numbers: 3,
        to_new_number: false,
        per_number: 10,
        per_block: 100,
        registers: None,
    };
    let tenant = &server.tenant;
    let send = |purpose: OtpPurpose, n: u32, to_new_number: bool| {
        let number = format!("+1555010{n:04}");
        let ip = format!("10.9.{}.{}", n / 200, n % 200 + 1);
        async move {
            portico
                .issue_otp(
                    tenant,
                    portico_core::otp::OtpRequest {
                        sms_budget: Some(portico_core::store::SmsBudget {
                            to_new_number,
                            ..budget
                        }),
                        ..ask_from(&ip, true, purpose, &number)
                    },
                    sms_text(number.clone()),
                )
                .await
        }
    };
    // Twelve registrations at once against a share of three...
    let registrations = crate::harness::join_all(
        (0..12)
            .map(|n| send(OtpPurpose::VerifyContact, n, true))
            .collect(),
    )
    .await;
    assert_eq!(registrations.iter().filter(|r| r.is_ok()).count(), 3);
    assert!(
        registrations
            .iter()
            .all(|r| r.is_ok() || matches!(r, Err(OtpSendError::Throttled { .. })))
    );
    // ...and sign-in texts at once against what is left of five.
    let sign_ins = crate::harness::join_all(
        (100..112)
            .map(|n| send(OtpPurpose::Mfa, n, false))
            .collect(),
    )
    .await;
    assert_eq!(sign_ins.iter().filter(|r| r.is_ok()).count(), 2);
    let texts = portico
        .store
        .sms_sent_since(server.tenant.id, budget.since)
        .await
        .unwrap();
    assert_eq!(texts, 5, "exactly the budget was queued");
    server.stop().await;
}
