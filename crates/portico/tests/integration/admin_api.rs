//! The admin REST API and its OpenAPI document.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::TestServer;

#[tokio::test]
async fn admin_api_manages_the_directory_with_a_bearer_token() {
    let server = TestServer::start().await;
    let token = server.portico().create_admin_token().await.unwrap();
    let client = reqwest::Client::new();
    let api = |path: &str| format!("{}/admin/api/v1{path}", server.base);

    let anonymous = client.get(api("/tenants")).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        anonymous.headers()["content-type"],
        "application/problem+json"
    );
    let forged = client
        .get(api("/tenants"))
        .bearer_auth("pat_forged")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);

    let created = client
        .post(api("/tenants"))
        .bearer_auth(&token)
        .json(&json!({"name": "fabrikam", "signing_alg": "ES256"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let tenant: Value = created.json().await.unwrap();
    assert_eq!(tenant["name"], "fabrikam");
    assert_eq!(tenant["signing_alg"], "ES256");

    let duplicate = client
        .post(api("/tenants"))
        .bearer_auth(&token)
        .json(&json!({"name": "fabrikam"}))
        .send()
        .await
        .unwrap();
    assert_eq!(duplicate.status(), StatusCode::CONFLICT);
    let invalid = client
        .post(api("/tenants"))
        .bearer_auth(&token)
        .json(&json!({"name": "No Spaces"}))
        .send()
        .await
        .unwrap();
    // Well-formed, but against a rule: 422 (malformed bodies are 400, below).
    assert_eq!(invalid.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let unknown_field = client
        .post(api("/tenants"))
        .bearer_auth(&token)
        .json(&json!({"name": "x1", "color": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown_field.status(), StatusCode::BAD_REQUEST);
    let not_json = client
        .post(api("/tenants"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), StatusCode::BAD_REQUEST);
    let wrong_type = client
        .post(api("/tenants"))
        .bearer_auth(&token)
        .body("name=x")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_type.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let app: Value = client
        .post(api("/tenants/fabrikam/applications"))
        .bearer_auth(&token)
        .json(&json!({"name": "Web", "kind": "web", "redirect_uris": ["https://app.example/cb"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(app["client_id"].is_string() && app["client_secret"].is_string());
    let spa: Value = client
        .post(api(&format!(
            "/tenants/{}/applications",
            tenant["id"].as_str().unwrap()
        )))
        .bearer_auth(&token)
        .json(&json!({"name": "SPA", "kind": "spa", "redirect_uris": ["http://localhost:3000/"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        spa.get("client_secret").is_none(),
        "public clients get no secret"
    );
    let bad_redirect = client
        .post(api("/tenants/fabrikam/applications"))
        .bearer_auth(&token)
        .json(&json!({"name": "Bad", "kind": "web", "redirect_uris": ["http://evil.example/cb"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_redirect.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let user = client
        .post(api("/tenants/fabrikam/users"))
        .bearer_auth(&token)
        .json(&json!({"email": "Eve@Example.com", "password": "a long enough password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(user.status(), StatusCode::CREATED);
    assert_eq!(
        user.json::<Value>().await.unwrap()["email"],
        "eve@example.com"
    );
    let weak = client
        .post(api("/tenants/fabrikam/users"))
        .bearer_auth(&token)
        .json(&json!({"email": "weak@example.com", "password": "short"}))
        .send()
        .await
        .unwrap();
    assert_eq!(weak.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let missing_tenant = client
        .post(api("/tenants/nobody/users"))
        .bearer_auth(&token)
        .json(&json!({"email": "x@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(missing_tenant.status(), StatusCode::NOT_FOUND);

    let rotated = client
        .post(api("/tenants/fabrikam/keys/rotate"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(rotated.status(), StatusCode::NO_CONTENT);
    let another: Value = client
        .post(api("/admin-tokens"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let listed = client
        .get(api("/tenants"))
        .bearer_auth(another["token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), StatusCode::OK);
    assert_eq!(listed.json::<Vec<Value>>().await.unwrap().len(), 2);
    server.stop().await;
}

#[tokio::test]
async fn a_revoked_admin_token_works_nowhere_and_listings_show_no_secrets() {
    let server = TestServer::start().await;
    let root = server.portico().create_admin_token().await.unwrap();
    let client = reqwest::Client::new();
    let api = |path: &str| format!("{}/admin/api/v1{path}", server.base);
    let created: Value = client
        .post(api("/admin-tokens"))
        .bearer_auth(&root)
        .json(&json!({"name": "deploy bot", "expires_in_days": 7}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bot = created["token"].as_str().unwrap().to_owned();
    assert_eq!(created["name"], "deploy bot");
    assert_eq!(created["status"], "active");
    assert_eq!(
        created["expires_at"].as_i64().unwrap() - created["created_at"].as_i64().unwrap(),
        7 * 24 * 3600
    );
    let works = client
        .get(api("/tenants"))
        .bearer_auth(&bot)
        .send()
        .await
        .unwrap();
    assert_eq!(works.status(), StatusCode::OK);

    let listed = client
        .get(api("/admin-tokens"))
        .bearer_auth(&root)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!listed.contains(&bot), "a listing never holds a token");
    let listed: Vec<Value> = serde_json::from_str(&listed).unwrap();
    assert_eq!(listed.len(), 2);

    // The bot's token leaked: revoked, it is refused at once (revoking twice is a 404).
    let id = created["id"].as_str().unwrap();
    let revoke = |token: String| {
        let client = client.clone();
        let url = api(&format!("/admin-tokens/{id}"));
        async move {
            client
                .delete(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(revoke(root.clone()).await, StatusCode::NO_CONTENT);
    assert_eq!(revoke(root.clone()).await, StatusCode::NOT_FOUND);
    // Nobody locks themselves out by mistake: a token cannot revoke itself.
    let listed: Vec<Value> = client
        .get(api("/admin-tokens"))
        .bearer_auth(&root)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let own = listed.iter().find(|t| t["id"] != created["id"]).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let itself = client
        .delete(api(&format!("/admin-tokens/{own}")))
        .bearer_auth(&root)
        .send()
        .await
        .unwrap();
    assert_eq!(itself.status(), StatusCode::CONFLICT);
    for (method, path) in [
        (reqwest::Method::GET, "/tenants"),
        (reqwest::Method::GET, "/admin-tokens"),
        (reqwest::Method::POST, "/admin-tokens"),
    ] {
        let refused = client
            .request(method, api(path))
            .bearer_auth(&bot)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    assert_eq!(revoke(bot).await, StatusCode::UNAUTHORIZED);

    // Bad options are refused clearly; a body that is not JSON is a 415.
    for (bad, status) in [
        (
            json!({"expires_in_days": 0}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"expires_in_days": 100000}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (json!({"name": ""}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"expires_in_days": 1.5}), StatusCode::BAD_REQUEST),
        (json!({"scope": "all"}), StatusCode::BAD_REQUEST),
        (json!([null, null]), StatusCode::BAD_REQUEST),
    ] {
        let refused = client
            .post(api("/admin-tokens"))
            .bearer_auth(&root)
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), status, "{bad}");
        assert_eq!(
            refused.headers()["content-type"],
            "application/problem+json"
        );
    }
    let form = client
        .post(api("/admin-tokens"))
        .bearer_auth(&root)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("name=x")
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    server.stop().await;
}

#[tokio::test]
async fn a_short_lived_admin_token_cannot_mint_a_lasting_one() {
    let server = TestServer::start().await;
    let root = server.portico().create_admin_token().await.unwrap();
    let client = reqwest::Client::new();
    let url = format!("{}/admin/api/v1/admin-tokens", server.base);
    let create = |token: String, body: Value| {
        let client = client.clone();
        let url = url.clone();
        async move {
            let created: Value = client
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            created
        }
    };
    let day = create(
        root.clone(),
        json!({"name": "one day", "expires_in_days": 1}),
    )
    .await;
    let cap = day["expires_at"].as_i64().unwrap();
    let day_token = day["token"].as_str().unwrap().to_owned();
    // Asked for no expiry, or for longer: it ends when its issuer does.
    let forever = create(day_token.clone(), json!({})).await;
    assert_eq!(forever["expires_at"].as_i64(), Some(cap));
    let month = create(day_token.clone(), json!({"expires_in_days": 30})).await;
    assert_eq!(month["expires_at"].as_i64(), Some(cap));
    // The root token (no expiry) still issues lasting ones.
    let lasting = create(root, json!({})).await;
    assert_eq!(lasting["expires_at"], Value::Null);
    server.stop().await;
}

#[tokio::test]
async fn tenant_settings_are_read_and_replaced_and_checked() {
    let server = TestServer::start().await;
    let token = server.portico().create_admin_token().await.unwrap();
    let client = reqwest::Client::new();
    let url = format!(
        "{}/admin/api/v1/tenants/{}/settings",
        server.base, server.tenant.id
    );
    let defaults: Value = client
        .get(&url)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        defaults,
        json!({"sms_countries": [], "refresh_token_max_days": null,
               "access_token_lifetime_secs": null, "dynamic_registration": false, "scim_api": null,
               "callout_azp": null})
    );
    let saved = client
        .put(&url)
        .bearer_auth(&token)
        // 7.0 is the integer 7 to JSON Schema: clients generated from it may write either.
        .json(
            &json!({"sms_countries": ["+44", "+1"], "refresh_token_max_days": 7.0,
                      "access_token_lifetime_secs": 900,
                      "callout_azp": "F00DFEED-0000-4000-8000-000000000000"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), StatusCode::OK);
    assert_eq!(
        saved.json::<Value>().await.unwrap(),
        json!({"sms_countries": ["+1", "+44"], "refresh_token_max_days": 7,
               "access_token_lifetime_secs": 900, "dynamic_registration": false, "scim_api": null,
               "callout_azp": "f00dfeed-0000-4000-8000-000000000000"})
    );
    // The tenant's lifetime is what its access tokens get (apps here set none).
    let (client_id, secret) = server.app(portico_core::directory::AppKind::Daemon).await;
    let (status, body) = crate::harness::token_request(
        &server,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &client_id),
            ("client_secret", secret.as_deref().unwrap()),
            ("scope", &format!("{client_id}/.default")),
        ],
    )
    .await;
    assert_eq!(
        (status, body["expires_in"].as_i64()),
        (200, Some(900)),
        "{body}"
    );
    for (bad, status) in [
        (
            json!({"sms_countries": ["44"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"callout_azp": "the events app"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"refresh_token_max_days": 0}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"refresh_token_max_days": 366}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"access_token_lifetime_secs": 60}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (json!({"sms": []}), StatusCode::BAD_REQUEST),
    ] {
        let refused = client
            .put(&url)
            .bearer_auth(&token)
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), status, "{bad}");
    }
    let unknown = client
        .get(format!(
            "{}/admin/api/v1/tenants/nowhere/settings",
            server.base
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    server.stop().await;
}

#[tokio::test]
async fn openapi_document_is_3_1_and_lists_the_operations() {
    let server = TestServer::start().await;
    let doc: Value = reqwest::get(format!("{}/admin/api/v1/openapi.json", server.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/admin/api/v1/tenants",
        "/admin/api/v1/tenants/{tenant}/applications",
        "/admin/api/v1/tenants/{tenant}/users",
        "/admin/api/v1/tenants/{tenant}/keys/rotate",
        "/admin/api/v1/tenants/{tenant}/user-flows",
        "/admin/api/v1/admin-tokens",
        "/admin/api/v1/admin-tokens/{id}",
        "/admin/api/v1/tenants/{tenant}/settings",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} missing");
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    server.stop().await;
}

/// Branding set through the admin API shows on the sign-in page; bad branding is refused.
#[tokio::test]
async fn branding_changes_the_hosted_pages() {
    use base64::Engine as _;
    let server = TestServer::start().await;
    let token = server.portico().create_admin_token().await.unwrap();
    let (web, _) = server.app(portico_core::directory::AppKind::Web).await;
    let client = reqwest::Client::new();
    let url = format!("{}/admin/api/v1/tenants/contoso/branding", server.base);
    let png = [
        &[0x89u8, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a][..],
        &[0u8; 64],
    ]
    .concat();
    let response = client
        .put(&url)
        .bearer_auth(&token)
        .json(&json!({
            "primary_color": "#aa0033",
            "background_color": "#fafafa",
            "custom_css": "h1 { letter-spacing: 0.1em; }",
            "texts": {"signin-title": "Welcome to Contoso"},
            "logo_base64": base64::engine::general_purpose::STANDARD.encode(&png),
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let page = crate::harness::sign_in_page(&server, &crate::harness::browser(), &web)
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("<h1>Welcome to Contoso</h1>"), "{page}");
    assert!(page.contains("--primary: #aa0033") && page.contains("background: #fafafa"));
    assert!(page.contains("h1 { letter-spacing: 0.1em; }"));
    let logo_url = format!("{}/{}/branding/logo", server.base, server.tenant.id);
    assert!(
        page.contains(&format!(
            r#"<img class="logo" src="{}""#,
            logo_url.replace('/', "&#x2f;")
        )) || page.contains(&logo_url)
    );
    let logo = client.get(&logo_url).send().await.unwrap();
    assert_eq!(logo.headers()["content-type"], "image/png");
    assert_eq!(logo.headers()["x-content-type-options"], "nosniff");
    assert_eq!(logo.bytes().await.unwrap().to_vec(), png);

    // A logo of the full 256 KiB fits through the API; a body that large anywhere else is
    // refused (413), and so is a logo over the limit.
    let big = [&png[..8], &vec![7u8; 256 * 1024 - 8][..]].concat();
    let response = client
        .put(&url)
        .bearer_auth(&token)
        .json(&json!({ "logo_base64": base64::engine::general_purpose::STANDARD.encode(&big) }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let elsewhere = client
        .post(format!(
            "{}/admin/api/v1/tenants/contoso/users",
            server.base
        ))
        .bearer_auth(&token)
        .json(&json!({ "email": "x@example.com", "display_name": "x".repeat(100 * 1024) }))
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let too_big = [&png[..8], &vec![7u8; 256 * 1024][..]].concat();
    let response = client
        .put(&url)
        .bearer_auth(&token)
        .json(&json!({ "logo_base64": base64::engine::general_purpose::STANDARD.encode(&too_big) }))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_client_error(), "{}", response.status());

    for bad in [
        json!({"primary_color": "red"}),
        json!({"custom_css": "</style><script>alert(1)</script>"}),
        json!({"texts": {"no-such-text": "x"}}),
        json!({"logo_base64": base64::engine::general_purpose::STANDARD.encode("<svg onload=alert(1)>")}),
        json!({"logo_base64": "%%%"}),
    ] {
        let response = client
            .put(&url)
            .bearer_auth(&token)
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    // Clearing branding brings the built-in look back.
    let cleared = client
        .put(&url)
        .bearer_auth(&token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        client.get(&logo_url).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    server.stop().await;
}

/// Schemathesis (PyPI), a third-party API tester, drives the admin API from its OpenAPI
/// document alone: examples, boundary coverage, fuzzing, and stateful sequences (create,
/// list, revoke). Every answer must be one the document declares, in the shape it declares;
/// every schema-valid request must be accepted (the few rules a schema cannot state are listed
/// in `schemathesis.toml`); every invalid one refused.
#[tokio::test]
async fn the_admin_api_holds_to_its_openapi_document_under_schemathesis() {
    let found = std::process::Command::new("schemathesis")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        if std::env::var_os("PORTICO_REQUIRE_SCHEMATHESIS").is_some() {
            panic!("schemathesis is required (pip install schemathesis)");
        }
        eprintln!("SKIPPED: schemathesis not found; pip install schemathesis to run this test");
        return;
    }
    let server = TestServer::start().await;
    let token = server.portico().create_admin_token().await.unwrap();
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/../../schemathesis.toml");
    // A fixed seed keeps CI repeatable; PORTICO_SCHEMATHESIS_SEED explores other cases.
    let seed = std::env::var("PORTICO_SCHEMATHESIS_SEED").unwrap_or_else(|_| "20261202".into());
    let (seeded, _) = server.app(portico_core::directory::AppKind::Daemon).await;
    server
        .portico()
        .expose_api(
            &portico_core::directory::TenantRef::Id(server.tenant.id),
            seeded.parse().unwrap(),
            portico_core::directory::ExposeApi {
                identifier_uri: "api://seeded".into(),
                scopes: vec![portico_core::directory::ApiScope::new("read", None)],
                roles: vec![portico_core::directory::AppRole {
                    name: "sync".into(),
                    allowed: portico_core::directory::RoleMembers::Both,
                    description: String::new(),
                }],
                token_exchange: Vec::new(),
            },
        )
        .await
        .unwrap();
    // An extension whose target refuses connections (port 9, discard, is closed here).
    let extension = server
        .portico()
        .create_extension(
            &portico_core::directory::TenantRef::Id(server.tenant.id),
            portico_core::extensions::NewExtension {
                name: "seeded".into(),
                event: portico_core::extensions::ExtensionEvent::OtpSend,
                target_url: "http://127.0.0.1:9/otp".into(),
                resource_app_id: None,
                apps: vec![seeded.parse().unwrap()],
                timeout_ms: Some(200),
                retries: Some(0),
                claims: Vec::new(),
                fallback: true,
                encryption_key: None,
            },
        )
        .await
        .unwrap()
        .id;
    let tenant = server.tenant.id.to_string();
    let user = server.user("seeded@example.com").await.id.to_string();
    let base = server.base.clone();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("schemathesis")
            .args(["--config-file", config, "run"])
            .arg(format!("{base}/admin/api/v1/openapi.json"))
            .args(["--url", &base])
            .args(["-H", &format!("Authorization: Bearer {token}")])
            .args(["--phases", "examples,coverage,fuzzing,stateful"])
            .args(["--max-examples", "30", "--seed", &seed, "--no-color"])
            .env("SCHEMATHESIS_HOOKS", "")
            .env("PORTICO_ST_TENANT", &tenant)
            .env("PORTICO_ST_APP", &seeded)
            .env("PORTICO_ST_USER", &user)
            .env("PORTICO_ST_EXTENSION", &extension)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "schemathesis found problems:\n{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Warnings say an operation's answers were mostly 404 or 4xx. That is expected only where
    // success needs state generated data cannot name: an API's own scope and role names, a
    // confidential client below its secret limit, a secret's id, a role the user holds, a
    // group of the tenant, an extension's apps of the tenant (and claims or a fallback only for
    // the event that has them), an extension of a tenant the stateful phase made (it has
    // none: the seeded one is in the seeded tenant). Anywhere else it hides untested logic.
    const STATEFUL: [&str; 12] = [
        "GET /admin/api/v1/tenants/{tenant}/extensions/{extension}",
        "POST /admin/api/v1/tenants/{tenant}/extensions/{extension}/test",
        "POST /admin/api/v1/tenants/{tenant}/extensions",
        "POST /admin/api/v1/tenants/{tenant}/groups/{group}/members",
        "POST /admin/api/v1/tenants/{tenant}/applications/{client_id}/group-role-assignments",
        "DELETE /admin/api/v1/tenants/{tenant}/applications/{client_id}/group-role-assignments/{role}/{group}",
        "DELETE /admin/api/v1/tenants/{tenant}/applications/{client_id}/permissions/{api}/{kind}/{name}",
        "DELETE /admin/api/v1/tenants/{tenant}/applications/{client_id}/role-assignments/{role}/{user}",
        "POST /admin/api/v1/tenants/{tenant}/applications/{client_id}/permissions",
        "POST /admin/api/v1/tenants/{tenant}/applications/{client_id}/role-assignments",
        "POST /admin/api/v1/tenants/{tenant}/applications/{client_id}/secrets",
        "DELETE /admin/api/v1/tenants/{tenant}/applications/{client_id}/secrets/{id}",
    ];
    if !report.contains("No issues found") {
        let warnings = report
            .split("=== WARNINGS ===")
            .nth(1)
            .and_then(|rest| rest.split("=== SUMMARY ===").next())
            .unwrap_or_else(|| panic!("neither clean nor only warnings:\n{report}"));
        for line in warnings.lines().filter_map(|l| l.trim().strip_prefix("- ")) {
            assert!(
                STATEFUL.contains(&line),
                "warning for {line}, which generated data should reach:\n{report}"
            );
        }
    }
    server.stop().await;
}
