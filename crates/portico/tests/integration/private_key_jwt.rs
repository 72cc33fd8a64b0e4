//! `private_key_jwt` (RFC 7523): a daemon registers a public key and authenticates with
//! assertions signed by `jsonwebtoken` (a third-party JOSE library), and the ways an attacker
//! would get a token with one: replay, another audience, an expired or long-lived assertion,
//! another key, another client's name, and the HS256-with-the-public-key confusion.

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use portico_core::directory::AppKind;
use serde_json::{Value, json};

use crate::harness::{TestServer, token_request};
use crate::rp::verified_claims;

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A fresh P-256 key: what signs, and its public JWK.
pub(crate) fn es256_key() -> (EncodingKey, Jwk) {
    let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let key = EncodingKey::from_ec_pem(pair.serialize_pem().as_bytes()).unwrap();
    let mut jwk = Jwk::from_encoding_key(&key, Algorithm::ES256).unwrap();
    jwk.common.key_id = Some("k1".into());
    (key, jwk)
}

fn assertion(key: &EncodingKey, client: &str, aud: &str, exp_in: i64, jti: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some("k1".into());
    encode(
        &header,
        &json!({"iss": client, "sub": client, "aud": aud, "jti": jti, "iat": now, "exp": now + exp_in}),
        key,
    )
    .unwrap()
}

async fn with_assertion(server: &TestServer, scope: &str, assertion: &str) -> (u16, Value) {
    token_request(
        server,
        &[
            ("grant_type", "client_credentials"),
            ("scope", scope),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", assertion),
        ],
    )
    .await
}

#[tokio::test]
async fn a_daemon_authenticates_with_a_signed_assertion_once_per_assertion() {
    let server = TestServer::start().await;
    let admin = server.portico().create_admin_token().await.unwrap();
    let (key, jwk) = es256_key();
    let created: Value = reqwest::Client::new()
        .post(format!(
            "{}/admin/api/v1/tenants/{}/applications",
            server.base, server.tenant.id
        ))
        .bearer_auth(&admin)
        .json(&json!({"name": "Sync", "kind": "daemon", "client_keys": {"keys": [jwk]}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let daemon = created["client_id"].as_str().unwrap().to_owned();
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    let token_url = server.url("oauth2/v2.0/token");
    let scope = format!("{daemon}/.default");

    let first = assertion(&key, &daemon, &token_url, 300, "jti-1");
    let (status, body) = with_assertion(&server, &scope, &first).await;
    assert_eq!(status, 200, "{body}");
    let claims = verified_claims(&server, body["access_token"].as_str().unwrap()).await;
    assert_eq!(claims["azpacr"], "2", "authenticated by certificate or key");
    assert_eq!(claims["azp"], daemon.as_str());

    // The same assertion twice: a replay.
    let (status, body) = with_assertion(&server, &scope, &first).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    // The issuer is a fine audience too; another server's endpoint is not.
    let (status, _) = with_assertion(
        &server,
        &scope,
        &assertion(&key, &daemon, &server.issuer(), 300, "jti-2"),
    )
    .await;
    assert_eq!(status, 200);
    let elsewhere = "https://login.example/token";
    let (status, _) = with_assertion(
        &server,
        &scope,
        &assertion(&key, &daemon, elsewhere, 300, "jti-3"),
    )
    .await;
    assert_eq!(status, 401, "meant for another server");
    // Expired, or living for a day.
    let (status, _) = with_assertion(
        &server,
        &scope,
        &assertion(&key, &daemon, &token_url, -120, "jti-4"),
    )
    .await;
    assert_eq!(status, 401, "expired");
    let (status, _) = with_assertion(
        &server,
        &scope,
        &assertion(&key, &daemon, &token_url, 86_400, "jti-5"),
    )
    .await;
    assert_eq!(status, 401, "too long-lived");
    // Signed by a key the app never registered.
    let (stranger, _) = es256_key();
    let (status, _) = with_assertion(
        &server,
        &scope,
        &assertion(&stranger, &daemon, &token_url, 300, "jti-6"),
    )
    .await;
    assert_eq!(status, 401, "unregistered key");
    // Another client's name with this key: that client has no such key.
    let (other, _) = server.app(AppKind::Daemon).await;
    let (status, _) = with_assertion(
        &server,
        &scope,
        &assertion(&key, &other, &token_url, 300, "jti-7"),
    )
    .await;
    assert_eq!(status, 401, "another client's name");
    // Algorithm confusion: HS256 keyed with the public key's bytes.
    let public = serde_json::to_string(&jwk).unwrap();
    let forged = encode(
        &Header {
            kid: Some("k1".into()),
            ..Header::new(Algorithm::HS256)
        },
        &json!({"iss": daemon, "sub": daemon, "aud": token_url, "jti": "jti-8", "exp": 4_000_000_000_i64}),
        &EncodingKey::from_secret(public.as_bytes()),
    )
    .unwrap();
    let (status, _) = with_assertion(&server, &scope, &forged).await;
    assert_eq!(status, 401, "HMAC is never accepted");
    // Two audiences at once, or not valid yet (nbf): refused.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let header = Header {
        kid: Some("k1".into()),
        ..Header::new(Algorithm::ES256)
    };
    for (jti, claims) in [
        (
            "jti-10",
            json!({"aud": [token_url, elsewhere], "exp": now + 300}),
        ),
        (
            "jti-11",
            json!({"aud": token_url, "exp": now + 3000, "nbf": now + 1200}),
        ),
        (
            "jti-12",
            json!({"aud": token_url, "exp": i64::MAX, "iat": i64::MIN}),
        ),
    ] {
        let mut claims = claims;
        claims["iss"] = json!(daemon);
        claims["sub"] = json!(daemon);
        claims["jti"] = json!(jti);
        let signed = encode(&header, &claims, &key).unwrap();
        let (status, _) = with_assertion(&server, &scope, &signed).await;
        assert_eq!(status, 401, "{claims}");
    }
    // An assertion and a secret together: one method only.
    let (status, body) = token_request(
        &server,
        &[
            ("grant_type", "client_credentials"),
            ("scope", &scope),
            ("client_secret", &secret),
            ("client_assertion_type", ASSERTION_TYPE),
            (
                "client_assertion",
                &assertion(&key, &daemon, &token_url, 300, "jti-9"),
            ),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    server.stop().await;
}

#[tokio::test]
async fn private_or_symmetric_keys_cannot_be_registered_and_public_clients_get_none() {
    let server = TestServer::start().await;
    let admin = server.portico().create_admin_token().await.unwrap();
    let (_, jwk) = es256_key();
    let apps = format!(
        "{}/admin/api/v1/tenants/{}/applications",
        server.base, server.tenant.id
    );
    let mut private = serde_json::to_value(&jwk).unwrap();
    private["d"] = json!("c2VjcmV0");
    for (kind, keys) in [
        ("daemon", json!({"keys": [private]})),
        ("daemon", json!({"kty": "oct", "k": "c2VjcmV0"})),
        ("spa", json!({"keys": [jwk]})),
    ] {
        let status = reqwest::Client::new()
            .post(&apps)
            .bearer_auth(&admin)
            .json(&json!({"name": "x", "kind": kind, "redirect_uris": [], "client_keys": keys}))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 422, "{kind} {keys}");
    }
    server.stop().await;
}

/// MSAL for Python with a certificate credential (its private key and SHA-1 thumbprint, the
/// way Entra apps are configured): the operator registers only the certificate, and MSAL's
/// assertion (RS256, named by `x5t`) gets an app token over HTTPS.
#[tokio::test]
async fn msal_python_authenticates_with_a_certificate() {
    if !crate::https::msal_available() {
        return;
    }
    let cert = crate::https::test_cert();
    let server = crate::https::https_server(&cert, None).await;
    let (daemon, _) = server.app(AppKind::Daemon).await;
    let dir = tempfile::tempdir().unwrap();
    // The app's own key pair and self-signed certificate, made by `cryptography` (which MSAL
    // depends on) as an app developer would.
    let make = r#"
import sys, datetime
from cryptography import x509
from cryptography.x509.oid import NameOID
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "daemon")])
now = datetime.datetime.now(datetime.timezone.utc)
cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
    .public_key(key.public_key()).serial_number(x509.random_serial_number())
    .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
    .sign(key, hashes.SHA256()))
open(sys.argv[1] + "/key.pem", "wb").write(key.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
open(sys.argv[1] + "/cert.pem", "wb").write(cert.public_bytes(serialization.Encoding.PEM))
print(cert.fingerprint(hashes.SHA1()).hex())
"#;
    let made = std::process::Command::new("python3")
        .args(["-c", make, dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let thumbprint = String::from_utf8(made.stdout).unwrap().trim().to_owned();
    let pem = std::fs::read_to_string(dir.path().join("cert.pem")).unwrap();
    let key = portico_core::directory::certificate_key(&pem).unwrap();
    assert!(key.common.x509_sha1_fingerprint.is_some());
    server
        .portico()
        .update_application(
            &portico_core::directory::TenantRef::Id(server.tenant.id),
            daemon.parse().unwrap(),
            portico_core::directory::AppChanges {
                client_keys: Some(vec![key]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let script = r#"
import json, sys, msal
authority, client_id, key_path, thumbprint = sys.argv[1:5]
app = msal.ConfidentialClientApplication(
    client_id, authority=authority, validate_authority=False, instance_discovery=False,
    client_credential={"private_key": open(key_path).read(), "thumbprint": thumbprint})
result = app.acquire_token_for_client(scopes=[client_id + "/.default"])
print(json.dumps({k: result.get(k) for k in ("access_token", "error", "error_description")}))
"#;
    let base = format!("{}/contoso", server.base);
    let key_path = dir.path().join("key.pem");
    let claims = crate::https::msal_token_claims(
        &cert,
        script,
        &[&base, &daemon, key_path.to_str().unwrap(), &thumbprint],
    )
    .await;
    assert_eq!(claims["azp"], daemon.as_str());
    assert_eq!(claims["azpacr"], "2", "authenticated by certificate");
    server.stop().await;
}
