//! Extensions at the steps of the sign-in engine: one-time codes delivered by the company's
//! service (and Portico's mailer as the fallback it may ask for).

use portico_claims::{
    EventCommon, Handler, HandlerError, OtpAction, OtpContext, Receiver, TokenValidator,
    TrustedIssuer,
};
use portico_core::directory::{SignInMethod, TenantRef, UserFlowConfig};
use portico_core::extensions::{ExtensionEvent, NewExtension};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::harness::TestServer;
use crate::native_auth::{assert_error, assert_tokens, challenge, ct, initiate, native_app, token};
use crate::otp_delivery::server_with_outbox;
use crate::page::{flow_for, mail_code};

/// Delivers codes by handing them to the test (as a company's SMS or mail service would).
struct Courier {
    codes: mpsc::UnboundedSender<(String, String, Option<String>)>,
}

#[async_trait::async_trait]
impl Handler for Courier {
    async fn otp_send(
        &self,
        event: &EventCommon,
        otp: &OtpContext,
    ) -> Result<OtpAction, HandlerError> {
        let kind = event.authentication_context.request_type.clone();
        self.codes
            .send((otp.identifier.clone(), otp.one_time_code.clone(), kind))
            .map_err(|_| HandlerError::new("nobody listens"))?;
        Ok(OtpAction::Sent)
    }
}

fn otp_extension(name: &str, target: &str, app: &str, fallback: bool) -> NewExtension {
    NewExtension {
        name: name.into(),
        event: ExtensionEvent::OtpSend,
        target_url: target.into(),
        resource_app_id: Some("0e7a0000-0000-4000-8000-000000000001".into()),
        apps: vec![app.parse().unwrap()],
        timeout_ms: Some(500),
        retries: Some(0),
        claims: Vec::new(),
        fallback,
    }
}

/// Messages waiting in the outbox (the worker may not have sent them yet).
async fn queued_mail(server: &TestServer) -> i64 {
    let db = server.guard.sqlite_file().unwrap();
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    count
}

async fn email_code_app(server: &TestServer) -> String {
    let client_id = native_app(server).await;
    flow_for(
        server,
        &client_id,
        UserFlowConfig {
            methods: vec![SignInMethod::EmailOtp],
            ..UserFlowConfig::default()
        },
    )
    .await;
    client_id
}

/// Initiates an email-code sign-in over the native API and asks for the code.
async fn ask_for_code(server: &TestServer, client_id: &str, email: &str) -> (u16, Value) {
    let (status, started) = initiate(server, client_id, email, "oob redirect").await;
    assert_eq!(status, 200, "{started}");
    challenge(server, client_id, ct(&started), "oob redirect").await
}

async fn redeem_code(server: &TestServer, client_id: &str, asked: &Value, code: &str) -> Value {
    let (status, tokens) = token(
        server,
        client_id,
        &[
            ("grant_type", "oob"),
            ("continuation_token", ct(asked)),
            ("oob", code),
        ],
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    tokens
}

#[tokio::test]
async fn the_company_service_delivers_the_code_and_it_signs_in() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_outbox(dir.path(), |_| {}).await;
    let tenant = TenantRef::Id(server.tenant.id);
    server.user("grace@example.com").await;
    let client_id = email_code_app(&server).await;
    let (codes_tx, mut codes) = mpsc::unbounded_channel();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://127.0.0.1:{}/otp",
        listener.local_addr().unwrap().port()
    );
    let validator = TokenValidator::new(vec![TrustedIssuer::new(
        server.issuer(),
        "0e7a0000-0000-4000-8000-000000000001",
    )]);
    let receiver = Receiver::new(validator, Courier { codes: codes_tx }).router("/otp");
    tokio::spawn(async move { axum::serve(listener, receiver).await });
    server
        .portico()
        .create_extension(&tenant, otp_extension("courier", &url, &client_id, false))
        .await
        .unwrap();

    let (status, asked) = ask_for_code(&server, &client_id, "grace@example.com").await;
    assert_eq!(status, 200, "{asked}");
    let (to, code, kind) = codes.recv().await.unwrap();
    assert_eq!(to, "grace@example.com");
    assert_eq!(kind.as_deref(), Some("signIn"));
    assert_eq!(code.len(), 8);
    assert_eq!(
        queued_mail(&server).await,
        0,
        "no mail when the extension delivers"
    );
    let tokens = redeem_code(&server, &client_id, &asked, &code).await;
    let claims = assert_tokens(&server, &tokens).await;
    assert_eq!(claims["amr"], serde_json::json!(["otp"]));
    server.stop().await;
}

#[tokio::test]
async fn a_failed_delivery_falls_back_to_mail_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_outbox(dir.path(), |_| {}).await;
    let tenant = TenantRef::Id(server.tenant.id);
    server.user("grace@example.com").await;
    // Port 9 (discard) refuses connections here: the call fails at once.
    let down = "http://127.0.0.1:9/otp";
    let strict = email_code_app(&server).await;
    let lenient = email_code_app(&server).await;
    let portico = server.portico();
    portico
        .create_extension(&tenant, otp_extension("strict", down, &strict, false))
        .await
        .unwrap();
    portico
        .create_extension(&tenant, otp_extension("lenient", down, &lenient, true))
        .await
        .unwrap();

    // Without a fallback, the step that sends the code fails with Entra's number, and no
    // code goes anywhere.
    let (status, failed) = initiate(&server, &strict, "grace@example.com", "oob redirect").await;
    assert_error(status, &failed, "invalid_request", 1_003_027);
    assert_eq!(queued_mail(&server).await, 0);

    // With one, the mailer sends it and the person signs in.
    let (status, asked) = ask_for_code(&server, &lenient, "grace@example.com").await;
    assert_eq!(status, 200, "{asked}");
    let code = mail_code(dir.path()).await;
    redeem_code(&server, &lenient, &asked, &code).await;
    server.stop().await;
}
