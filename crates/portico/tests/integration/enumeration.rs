//! The hosted pages must not tell which addresses have accounts: an unknown address is
//! answered exactly as an account with a wrong password (same answer, same hashing work for
//! the same repeats, the same lockout after the same distinct failures). The native API's
//! `user_not_found` stays: its contract forces it.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU32, Ordering};

use portico_core::Portico;
use portico_core::directory::{AppKind, Tenant};
use portico_core::signin::SignInError;
use proptest::collection::vec;
use proptest::test_runner::{Config, TestRunner};

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_address_answers_exactly_like_a_wrong_password_under_random_attempts() {
    let server = TestServer::start().await;
    let portico = server.portico();
    let handle = tokio::runtime::Handle::current();
    let cases = AtomicU32::new(0);
    let mut runner = TestRunner::new(Config {
        cases: 8,
        failure_persistence: None,
        ..Config::default()
    });
    // Sequences of guesses from a small pool, so repeats and the lockout (ten distinct
    // failures) both happen.
    let result = runner.run(&vec(0usize..12, 1..16), |guesses| {
        let case = cases.fetch_add(1, Ordering::SeqCst);
        tokio::task::block_in_place(|| {
            handle.block_on(async {
                let known = format!("known{case}@example.com");
                server.user(&known).await;
                let unknown = format!("nobody{case}@example.com");
                let ip: IpAddr = format!("10.7.{}.{}", case / 250, case % 250 + 1)
                    .parse()
                    .unwrap();
                for guess in &guesses {
                    let password = format!("wrong guess {guess}");
                    let real = attempt(portico, &server.tenant, &known, &password, ip).await;
                    let decoy = attempt(portico, &server.tenant, &unknown, &password, ip).await;
                    if real != decoy {
                        return Err(proptest::test_runner::TestCaseError::fail(format!(
                            "after {guesses:?}: account {real:?}, no account {decoy:?}"
                        )));
                    }
                }
                Ok(())
            })
        })
    });
    result.unwrap();
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
