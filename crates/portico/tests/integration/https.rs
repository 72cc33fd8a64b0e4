//! Serving HTTPS itself (MSAL refuses http authorities), a fixed public URL behind a proxy, and
//! keys encrypted at rest.

use portico::server::ServeOptions;
use portico_core::directory::{AppKind, TenantRef};
use portico_keys::{MasterKey, SigningAlgorithm, SigningKey};

use crate::harness::{Backend, TestServer};

pub(crate) struct TestCert {
    _dir: tempfile::TempDir,
    pub(crate) cert_path: std::path::PathBuf,
    pub(crate) key_path: std::path::PathBuf,
    pem: String,
}

/// Whether MSAL for Python can run here; when not, says why the test is skipped (or fails,
/// where CI requires it with `PORTICO_REQUIRE_MSAL`).
pub(crate) fn msal_available() -> bool {
    let found = std::process::Command::new("python3")
        .args(["-c", "import msal"])
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        if std::env::var_os("PORTICO_REQUIRE_MSAL").is_some() {
            panic!("python3 with msal is required (pip install msal)");
        }
        eprintln!("SKIPPED: python3 -c 'import msal' failed; pip install msal to run this test");
    }
    found
}

impl TestCert {
    /// A browser that trusts this certificate (cookies kept, redirects not followed).
    pub(crate) fn browser(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(self.pem.as_bytes()).unwrap()])
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }
}

/// Runs an MSAL for Python `script` (argv: `args`) against a server with `cert`, which
/// prints one JSON object with `access_token` and `error`; checks MSAL got a token and
/// returns the token's claims (its signature is MSAL's business here, over TLS).
pub(crate) async fn msal_token_claims(
    cert: &TestCert,
    script: &str,
    args: &[&str],
) -> serde_json::Value {
    let output = tokio::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        // MSAL's requests honours REQUESTS_CA_BUNDLE over its own verify= setting.
        .env("REQUESTS_CA_BUNDLE", &cert.cert_path)
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let result: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(result["error"].is_null(), "{result}");
    jsonwebtoken::dangerous::insecure_decode::<serde_json::Value>(
        result["access_token"].as_str().unwrap(),
    )
    .unwrap()
    .claims
}

/// A self-signed certificate for 127.0.0.1 and localhost.
pub(crate) fn test_cert() -> TestCert {
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    let pem = certified.cert.pem();
    std::fs::write(&cert_path, &pem).unwrap();
    std::fs::write(&key_path, certified.signing_key.serialize_pem()).unwrap();
    TestCert {
        _dir: dir,
        cert_path,
        key_path,
        pem,
    }
}

/// A server on HTTPS with `cert`, delivering mail and texts as `delivery` says.
pub(crate) async fn https_server(
    cert: &TestCert,
    delivery: Option<portico::server::DeliveryOptions>,
) -> TestServer {
    https_server_configured(cert, delivery, |_| {}).await
}

/// [`https_server`] with settings of its own.
pub(crate) async fn https_server_configured(
    cert: &TestCert,
    delivery: Option<portico::server::DeliveryOptions>,
    configure: impl FnOnce(&mut portico_core::Settings),
) -> TestServer {
    TestServer::start_serving(
        Backend::Sqlite,
        SigningAlgorithm::Rs256,
        configure,
        ServeOptions {
            listen: "127.0.0.1:0".parse().unwrap(),
            public_url: None,
            tls: Some((cert.cert_path.clone(), cert.key_path.clone())),
            trusted_proxies: Vec::new(),
            metrics_listen: None,
            delivery,
        },
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn serves_https_with_an_https_issuer_and_secure_cookies() {
    let cert = test_cert();
    let server = https_server(&cert, None).await;
    assert!(server.base.starts_with("https://127.0.0.1:"));
    let client = cert.browser();
    let discovery: serde_json::Value = client
        .get(server.url("v2.0/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        discovery["issuer"],
        format!("{}/{}/v2.0", server.base, server.tenant.id)
    );
    assert!(
        discovery["token_endpoint"]
            .as_str()
            .unwrap()
            .starts_with("https://")
    );

    let (daemon, secret) = server.app(AppKind::Daemon).await;
    let token = client
        .post(server.url("oauth2/v2.0/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &daemon),
            ("client_secret", secret.as_deref().unwrap()),
            ("scope", &format!("{daemon}/.default")),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), 200);

    let (web, _) = server.app(AppKind::Web).await;
    let page = crate::harness::sign_in_page(&server, &client, &web).await;
    let cookie = page.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("Secure"), "{cookie}");
    // Over HTTPS the anti-forgery cookie is host-bound and Lax (a second tab's cross-site
    // /authorize keeps it), and every answer pins HTTPS.
    assert!(cookie.starts_with("__Host-portico_csrf="), "{cookie}");
    assert!(
        cookie.contains("SameSite=Lax") && cookie.contains("Path=/"),
        "{cookie}"
    );
    assert!(!cookie.contains("Domain"), "{cookie}");
    assert_eq!(
        page.headers()["strict-transport-security"],
        "max-age=31536000"
    );
    // The session cookie after sign-in is host-bound too.
    server.user("secure@example.com").await;
    let html = page.text().await.unwrap();
    let signed_in = crate::harness::submit_sign_in(
        &server,
        &client,
        &html,
        "secure@example.com",
        crate::harness::PASSWORD,
    )
    .await;
    assert_eq!(signed_in.status(), 303);
    let session = signed_in
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|c| c.to_str().unwrap().to_owned())
        .find(|c| c.contains("portico_session_"))
        .expect("a session cookie");
    assert!(session.starts_with("__Host-portico_session_"), "{session}");
    assert!(
        session.contains("Secure") && session.contains("HttpOnly"),
        "{session}"
    );

    // A plain-HTTP client gets nowhere.
    let plain = reqwest::get(server.base.replace("https://", "http://") + "/healthz").await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());
    server.stop().await;
}

/// MSAL for Python, a real Microsoft client, against Portico over HTTPS: it reads
/// `{authority}/v2.0/.well-known/openid-configuration` and runs client credentials.
#[tokio::test]
async fn msal_python_acquires_a_token_over_https() {
    if !crate::https::msal_available() {
        return;
    }
    let cert = test_cert();
    let server = https_server(&cert, None).await;
    let (daemon, secret) = server.app(AppKind::Daemon).await;
    let script = r#"
import json, sys, msal
authority, client_id, secret = sys.argv[1:4]
app = msal.ConfidentialClientApplication(
    client_id, client_credential=secret, authority=authority,
    validate_authority=False, instance_discovery=False)
result = app.acquire_token_for_client(scopes=[client_id + "/.default"])
print(json.dumps({k: result.get(k) for k in ("token_type", "access_token", "error", "error_description")}))
"#;
    let base = format!("{}/contoso", server.base);
    let claims =
        msal_token_claims(&cert, script, &[&base, &daemon, secret.as_deref().unwrap()]).await;
    assert_eq!(claims["azp"], daemon.as_str());
    server.stop().await;
}

/// Behind a reverse proxy the issuer comes from `--public-url`, whatever Host the request had.
#[tokio::test]
async fn public_url_fixes_the_issuer() {
    let server = TestServer::start_serving(
        Backend::Sqlite,
        SigningAlgorithm::Rs256,
        |_| {},
        ServeOptions {
            listen: "127.0.0.1:0".parse().unwrap(),
            public_url: Some("https://id.example.com/".to_owned()),
            tls: None,
            trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
            metrics_listen: None,
            delivery: None,
        },
    )
    .await
    .unwrap();
    let direct = format!("http://{}", server.server.addr);
    let discovery: serde_json::Value = reqwest::Client::new()
        .get(format!(
            "{direct}/contoso/v2.0/.well-known/openid-configuration"
        ))
        .header("host", "attacker.example")
        .header("x-forwarded-host", "attacker.example")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tid = server.tenant.id;
    assert_eq!(
        discovery["issuer"],
        format!("https://id.example.com/{tid}/v2.0")
    );
    assert_eq!(
        discovery["jwks_uri"],
        format!("https://id.example.com/{tid}/discovery/v2.0/keys")
    );
    server.stop().await;
}

/// The store never holds a usable private key: only sealed blobs bound to their kid.
#[tokio::test]
async fn signing_keys_are_encrypted_at_rest() {
    let server = TestServer::start().await;
    let master = MasterKey::from_base64(&server.master_key).unwrap();
    let rows = server
        .portico()
        .store
        .signing_keys(server.tenant.id)
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    for row in &rows {
        assert!(
            SigningKey::from_pkcs8(row.alg, &row.sealed_private).is_err(),
            "not plaintext PKCS#8"
        );
        let pkcs8 = master.open(&row.kid, &row.sealed_private).unwrap();
        let key = SigningKey::from_pkcs8(row.alg, &pkcs8).unwrap();
        assert_eq!(key.kid(), row.kid);
        assert!(
            !row.public_jwk.contains("\"d\""),
            "no private member in the stored JWK"
        );
    }
    let (other, _) = MasterKey::generate().unwrap();
    assert!(other.open(&rows[0].kid, &rows[0].sealed_private).is_err());
    assert!(
        master.open(&rows[1].kid, &rows[0].sealed_private).is_err(),
        "bound to its kid"
    );
    server
        .portico()
        .rotate_keys(&TenantRef::Id(server.tenant.id))
        .await
        .unwrap();
    server.stop().await;
}
