//! The hosted pages must not tell which addresses have accounts: an unknown address is
//! answered exactly as an account with a wrong password (same answer, same hashing work for
//! the same repeats, the same lockout after the same distinct failures). The native API's
//! `user_not_found` stays: its contract forces it.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU32, Ordering};

use portico_core::clock::ManualClock;
use portico_core::directory::{AppKind, Tenant};
use portico_core::signin::SignInError;
use portico_core::{Portico, lockout};
use proptest::collection::vec;
use proptest::prelude::{Just, Strategy, prop_oneof};
use proptest::test_runner::{Config, TestCaseError, TestRunner};

use crate::harness::{TestServer, browser};
use crate::page::authorize;

/// One password attempt: what it answered, and how many argon2 runs it cost.
async fn attempt(
    portico: &Portico,
    tenant: &Tenant,
    email: &str,
    password: &str,
    ip: IpAddr,
) -> (&'static str, u64) {
    let before = portico.passwords.runs();
    let outcome = match portico
        .sign_in_with_password(tenant, None, email, password, ip)
        .await
    {
        Ok(_) => "signed in",
        Err(SignInError::InvalidCredentials) => "invalid",
        Err(SignInError::LockedOut { .. }) => "locked out",
        Err(SignInError::AccountDisabled) => "disabled",
        Err(SignInError::RateLimited) => "rate limited",
        Err(SignInError::ResetRequired) => "reset required",
        Err(SignInError::Core(_)) => "error",
    };
    (outcome, portico.passwords.runs() - before)
}

/// What an attacker does next: a guess from a small pool (so repeats and the lockout, ten
/// distinct failures, both happen), or a wait.
#[derive(Debug, Clone, Copy)]
enum Step {
    Guess(usize),
    /// Time passes, then the purge job runs (it deletes the records of idle decoys).
    Wait(i64),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (0usize..12).prop_map(Step::Guess),
        2 => prop_oneof![
            Just(61),
            Just(3600),
            Just(lockout::IDLE_SECS - 1),
            Just(lockout::IDLE_SECS),
            Just(lockout::IDLE_SECS + 1),
            // Past the purge of decoy records too.
            Just(lockout::IDLE_SECS + 3601),
        ]
        .prop_map(Step::Wait),
    ]
}

/// Plays `steps` against an account and an address without one, side by side, on a clock the
/// test moves; the first step where the two answer differently (or cost different hashing).
async fn first_difference(
    server: &TestServer,
    clock: &ManualClock,
    portico: &Portico,
    case: u32,
    steps: &[Step],
) -> Option<String> {
    let known = format!("known{case}@example.com");
    server.user(&known).await;
    let unknown = format!("nobody{case}@example.com");
    let ip: IpAddr = format!("10.7.{}.{}", case / 250, case % 250 + 1)
        .parse()
        .unwrap();
    for (at, step) in steps.iter().enumerate() {
        match *step {
            Step::Guess(guess) => {
                let password = format!("wrong guess {guess}");
                let real = attempt(portico, &server.tenant, &known, &password, ip).await;
                let decoy = attempt(portico, &server.tenant, &unknown, &password, ip).await;
                if real != decoy {
                    return Some(format!(
                        "step {at} of {steps:?}: account {real:?}, no account {decoy:?}"
                    ));
                }
            }
            Step::Wait(seconds) => {
                clock.advance(seconds);
                portico.store.purge_expired(portico.now()).await.unwrap();
            }
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_address_answers_exactly_like_a_wrong_password_under_random_attempts() {
    let server = TestServer::start().await;
    let clock = ManualClock::new(server.portico().now());
    let portico = server.portico_at(&clock);
    let handle = tokio::runtime::Handle::current();
    let cases = AtomicU32::new(0);
    let mut runner = TestRunner::new(Config {
        cases: 16,
        failure_persistence: None,
        ..Config::default()
    });
    // At most 19 steps: the per-account rate limit (a burst of 20, on the real clock) would
    // otherwise answer for both.
    let result = runner.run(&vec(step(), 1..20), |steps| {
        let case = cases.fetch_add(1, Ordering::SeqCst);
        tokio::task::block_in_place(|| {
            handle.block_on(async {
                match first_difference(&server, &clock, &portico, case, &steps).await {
                    Some(difference) => Err(TestCaseError::fail(difference)),
                    None => Ok(()),
                }
            })
        })
    });
    result.unwrap();
    server.stop().await;
}

/// The slow probe: nine wrong guesses, a day's wait (long enough for the purge job to forget
/// an unknown address), then a tenth. Were an account's count kept longer than a decoy's, the
/// tenth would lock only a real account out.
#[tokio::test]
async fn nine_guesses_a_days_wait_and_a_tenth_do_not_tell_accounts_apart() {
    let server = TestServer::start().await;
    let clock = ManualClock::new(server.portico().now());
    let portico = server.portico_at(&clock);
    let mut steps: Vec<Step> = (0..9).map(Step::Guess).collect();
    steps.extend([
        Step::Wait(lockout::IDLE_SECS + 1),
        Step::Guess(9),
        Step::Guess(10),
    ]);
    let difference = first_difference(&server, &clock, &portico, 0, &steps).await;
    assert_eq!(difference, None);
    // And within the day, the count holds for both: the tenth locks them alike.
    let mut steps: Vec<Step> = (0..9).map(Step::Guess).collect();
    steps.extend([Step::Wait(lockout::IDLE_SECS - 1), Step::Guess(9)]);
    let difference = first_difference(&server, &clock, &portico, 1, &steps).await;
    assert_eq!(difference, None);
    let locked = attempt(
        &portico,
        &server.tenant,
        "known1@example.com",
        "wrong guess 11",
        "10.7.0.2".parse().unwrap(),
    )
    .await;
    assert_eq!(locked.0, "locked out");
    server.stop().await;
}

/// The page as a person sees it, without what differs between any two flows (ids, tokens,
/// the address typed).
fn normalized(html: &str, email: &str) -> String {
    let mut text = html.replace(email, "EMAIL");
    for marker in [
        "name=\"flow\" value=\"",
        "name=\"csrf_token\" value=\"",
        "nonce=\"",
        "flow=",
    ] {
        let mut out = String::new();
        let mut rest = text.as_str();
        while let Some(at) = rest.find(marker) {
            out.push_str(&rest[..at + marker.len()]);
            rest = &rest[at + marker.len()..];
            let end = rest.find(['"', '&']).unwrap_or(rest.len());
            out.push('X');
            rest = &rest[end..];
        }
        out.push_str(rest);
        text = out;
    }
    text
}

#[tokio::test]
async fn the_sign_in_page_locks_an_unknown_address_out_like_a_real_one() {
    let server = TestServer::start().await;
    server.user("real@example.com").await;
    let (client_id, _) = server.app(AppKind::Web).await;
    let mut pages = Vec::new();
    for email in ["real@example.com", "ghost@example.com"] {
        let browser = browser();
        let mut page = authorize(&server, &browser, &client_id, &[]).await;
        let mut seen = Vec::new();
        // Ten distinct wrong passwords, one repeated, then the eleventh.
        for guess in [0, 1, 2, 2, 3, 4, 5, 6, 7, 8, 9, 10] {
            let password = format!("not it {guess}");
            page = page
                .submit(&browser, &[("email", email), ("password", &password)])
                .await;
            seen.push((page.status, normalized(&page.html, email)));
        }
        assert!(
            seen.last().is_some_and(|(_, html)| html.contains("locked")),
            "{:?}",
            seen.last()
        );
        pages.push(seen);
    }
    for (step, (real, ghost)) in pages[0].iter().zip(&pages[1]).enumerate() {
        assert_eq!(real, ghost, "attempt {step} differs");
    }
    server.stop().await;
}
