//! MSAL Node (`@azure/msal-node`, Microsoft's library for Node apps) against Portico over
//! HTTPS: a daemon's client credentials, and a device signed in by a person in a browser
//! while MSAL polls with its own short grant type. Skips with a message when Node or the
//! package is missing, unless `PORTICO_REQUIRE_NODE` is set (CI installs both).

use std::path::PathBuf;
use std::process::Stdio;

use portico_core::directory::AppKind;
use reqwest::StatusCode;
use serde_json::Value;

use crate::device_code::{approve, device_app};
use crate::https::{TestCert, https_server, https_server_configured, test_cert};

/// `node tests/sdk/msal_node.cjs ARGS`, trusting `cert`; `None` (with a message) when it
/// cannot run here and CI does not require it.
fn msal_node(cert: &TestCert, args: &[&str]) -> Option<tokio::process::Command> {
    let sdk = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sdk");
    let installed = sdk
        .join("node_modules/@azure/msal-node/package.json")
        .exists();
    let node = std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !(installed && node) {
        if std::env::var_os("PORTICO_REQUIRE_NODE").is_some() {
            panic!(
                "node and @azure/msal-node are required (npm ci --prefix crates/portico/tests/sdk)"
            );
        }
        eprintln!(
            "SKIPPED: node or @azure/msal-node missing; run npm ci --prefix crates/portico/tests/sdk"
        );
        return None;
    }
    let mut command = tokio::process::Command::new("node");
    command
        .arg(sdk.join("msal_node.cjs"))
        .args(args)
        .env("NODE_EXTRA_CA_CERTS", &cert.cert_path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    Some(command)
}

/// `host:port` of an `https://host:port` base URL (MSAL Node's `knownAuthorities`).
fn host(base: &str) -> &str {
    base.trim_start_matches("https://")
}

#[tokio::test]
async fn msal_node_acquires_a_token_by_client_credentials() {
    let cert = test_cert();
    let server = https_server(&cert, None).await;
    let (daemon, secret) = server.app(AppKind::Daemon).await;
    let authority = format!("{}/contoso", server.base);
    let scope = format!("{daemon}/.default");
    let Some(mut command) = msal_node(
        &cert,
        &[
            "client-credentials",
            &authority,
            &daemon,
            host(&server.base),
            secret.as_deref().unwrap(),
            &scope,
        ],
    ) else {
        return;
    };
    let output = command.output().await.unwrap();
    let result: Value = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    assert!(
        output.status.success() && result["error"].is_null(),
        "{result} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let claims =
        jsonwebtoken::dangerous::insecure_decode::<Value>(result["access_token"].as_str().unwrap())
            .unwrap()
            .claims;
    assert_eq!(claims["azp"], daemon.as_str());
    assert_eq!(claims["aud"], daemon.as_str());
    server.stop().await;
}

#[tokio::test]
async fn msal_node_signs_a_device_in_while_a_person_approves_in_a_browser() {
    let cert = test_cert();
    let server = https_server_configured(&cert, None, |s| {
        s.device_code_interval_secs = 1;
    })
    .await;
    let alice = server.user("alice@example.com").await;
    let (client_id, _) = device_app(&server, AppKind::Native).await;
    let authority = format!("{}/contoso", server.base);
    let Some(mut command) = msal_node(
        &cert,
        &["device", &authority, &client_id, host(&server.base)],
    ) else {
        return;
    };
    let mut device = command.spawn().unwrap();
    let stdout = device.stdout.take().unwrap();
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stdout));
    let first = tokio::time::timeout(std::time::Duration::from_secs(30), lines.next_line())
        .await
        .expect("MSAL Node asked for a device code")
        .unwrap()
        .expect("a line");
    let flow: Value = serde_json::from_str(&first).unwrap();
    assert!(flow["user_code"].is_string(), "{flow}");
    assert_eq!(flow["interval"], 1, "interval is always sent");
    let browser = cert.browser();
    let done = approve(&server, &browser, &flow, "alice@example.com").await;
    assert_eq!(done.status(), StatusCode::OK);
    let result: Value = serde_json::from_str(
        &tokio::time::timeout(std::time::Duration::from_secs(30), lines.next_line())
            .await
            .expect("MSAL Node finished polling")
            .unwrap()
            .expect("a result"),
    )
    .unwrap();
    let _ = device.wait().await;
    assert!(result["error"].is_null(), "{result}");
    assert_eq!(result["id_token_claims"]["oid"], alice.id.to_string());
    let access =
        jsonwebtoken::dangerous::insecure_decode::<Value>(result["access_token"].as_str().unwrap())
            .unwrap()
            .claims;
    assert_eq!(access["azp"], client_id.as_str());
    server.stop().await;
}
