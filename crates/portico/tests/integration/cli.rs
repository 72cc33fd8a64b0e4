//! The operator CLI contract: exact commands and JSON fields, run as a real process.

use std::process::{Command, Stdio};

use serde_json::Value;

/// Runs the binary on `data_dir` (its own SQLite and master key, whatever the environment).
pub(crate) fn run(data_dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_portico"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env_remove("PORTICO_DATABASE_URL")
        .env_remove("PORTICO_MASTER_KEY")
        .output()
        .unwrap()
}

pub(crate) fn portico(data_dir: &std::path::Path, args: &[&str]) -> Value {
    let output = run(data_dir, args);
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(
        stdout.lines().count(),
        1,
        "exactly one JSON object: {stdout}"
    );
    serde_json::from_str(&stdout).unwrap()
}

#[tokio::test]
async fn cli_commands_print_one_json_object_each() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let tenant = portico(&data, &["tenant", "create", "contoso", "--json"]);
    assert_eq!(tenant["name"], "contoso");
    let tenant_id = tenant["id"].as_str().unwrap().to_owned();
    assert!(tenant_id.parse::<uuid::Uuid>().is_ok());
    let es = portico(
        &data,
        &[
            "--json",
            "tenant",
            "create",
            "ecorp",
            "--signing-alg",
            "ES256",
        ],
    );
    assert_eq!(es["name"], "ecorp");

    let web = portico(
        &data,
        &[
            "app",
            "create",
            "--tenant",
            "contoso",
            "--name",
            "Web",
            "--kind",
            "web",
            "--redirect-uri",
            "https://app.example/cb",
            "--json",
        ],
    );
    assert!(
        web["client_id"]
            .as_str()
            .unwrap()
            .parse::<uuid::Uuid>()
            .is_ok()
    );
    assert!(web["client_secret"].as_str().unwrap().len() >= 32);
    let spa = portico(
        &data,
        &[
            "app",
            "create",
            "--tenant",
            &tenant_id,
            "--name",
            "SPA",
            "--kind",
            "spa",
            "--redirect-uri",
            "http://localhost:3000",
            "--native-auth",
            "--cors-origin",
            "http://localhost:3000",
            "--json",
        ],
    );
    assert!(spa.get("client_secret").is_none());
    let daemon = portico(
        &data,
        &[
            "app", "create", "--tenant", "contoso", "--name", "D", "--kind", "daemon", "--json",
        ],
    );
    assert!(daemon["client_secret"].is_string());

    let user = portico(
        &data,
        &[
            "user",
            "create",
            "--tenant",
            "contoso",
            "--email",
            "Alice@Example.com",
            "--password",
            "a good long password",
            "--display-name",
            "Alice",
            "--json",
        ],
    );
    assert_eq!(user["email"], "alice@example.com");
    assert!(user["id"].as_str().unwrap().parse::<uuid::Uuid>().is_ok());
    let disabled = portico(
        &data,
        &[
            "user",
            "disable",
            "--tenant",
            "contoso",
            "ALICE@example.com",
            "--json",
        ],
    );
    assert_eq!(disabled["enabled"], false);
    assert_eq!(disabled["id"], user["id"]);
    let enabled = portico(
        &data,
        &[
            "user",
            "enable",
            "--tenant",
            "contoso",
            user["id"].as_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(enabled["enabled"], true);

    let flow = portico(
        &data,
        &[
            "flow",
            "create",
            "--tenant",
            "contoso",
            "--name",
            "members",
            "--methods",
            "password,email-otp",
            "--attribute",
            "displayName:required",
            "--attribute",
            "loyaltyNumber:int",
            "--mfa",
            "required",
            "--mfa-methods",
            "email-otp,totp",
            "--app",
            web["client_id"].as_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(flow["name"], "members");
    assert_eq!(flow["mfa"], "required");
    assert_eq!(
        flow["mfa_methods"],
        serde_json::json!(["email-otp", "totp"])
    );
    assert_eq!(flow["apps"], serde_json::json!([web["client_id"]]));
    assert_eq!(flow["attributes"][1]["type"], "int");
    let flows = portico(&data, &["flow", "list", "--tenant", "contoso", "--json"]);
    assert_eq!(flows["flows"].as_array().unwrap().len(), 2);
    assert_eq!(
        flows["flows"][0]["is_default"], true,
        "every tenant has a default flow"
    );

    let branded = portico(
        &data,
        &[
            "tenant",
            "branding",
            "--tenant",
            "contoso",
            "--primary-color",
            "#112233",
            "--text",
            "signin-title=Welcome back",
            "--json",
        ],
    );
    assert_eq!(branded["primary_color"], "#112233");
    assert_eq!(branded["texts"]["signin-title"], "Welcome back");
    let branded = portico(
        &data,
        &[
            "tenant",
            "branding",
            "--tenant",
            "contoso",
            "--background-color",
            "#ffffff",
            "--json",
        ],
    );
    assert_eq!(
        branded["primary_color"], "#112233",
        "options not given stay as they were"
    );
    assert_eq!(branded["background_color"], "#ffffff");

    let settings = portico(
        &data,
        &[
            "tenant",
            "settings",
            "--tenant",
            "contoso",
            "--sms-countries",
            "+44,+1",
            "--refresh-token-max-days",
            "30",
            "--json",
        ],
    );
    assert_eq!(settings["sms_countries"], serde_json::json!(["+1", "+44"]));
    assert_eq!(settings["refresh_token_max_days"], 30);
    let settings = portico(
        &data,
        &[
            "tenant",
            "settings",
            "--tenant",
            "contoso",
            "--refresh-token-max-days",
            "default",
            "--json",
        ],
    );
    assert_eq!(
        settings["sms_countries"],
        serde_json::json!(["+1", "+44"]),
        "options not given stay as they were"
    );
    assert_eq!(settings["refresh_token_max_days"], Value::Null);
    let rotated = portico(&data, &["keys", "rotate", "--tenant", "contoso", "--json"]);
    assert_eq!(rotated["rotated"], true);
    let token = portico(&data, &["admin-token", "create", "--json"]);
    assert!(token["token"].as_str().unwrap().starts_with("pat_"));
    assert_eq!(token["expires_at"], Value::Null, "never, unless asked");
    let ci = portico(
        &data,
        &[
            "admin-token",
            "create",
            "--name",
            "ci pipeline",
            "--expires-in",
            "30",
            "--json",
        ],
    );
    assert_eq!(ci["name"], "ci pipeline");
    assert_eq!(
        ci["expires_at"].as_i64().unwrap() - ci["created_at"].as_i64().unwrap(),
        30 * 24 * 3600
    );
    let listed = portico(&data, &["admin-token", "list", "--json"]);
    let listed = listed.as_array().unwrap();
    assert!(
        listed
            .iter()
            .any(|t| t["id"] == ci["id"] && t["status"] == "active")
    );
    assert!(
        listed.iter().all(|t| t.get("token").is_none()),
        "never a secret in a listing"
    );
    let id = ci["id"].as_str().unwrap();
    let revoked = portico(&data, &["admin-token", "revoke", id, "--json"]);
    assert_eq!(revoked["revoked"], true);
    let listed = portico(&data, &["admin-token", "list", "--json"]);
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == id && t["status"] == "revoked")
    );

    let failure = Command::new(env!("CARGO_BIN_EXE_portico"))
        .arg("--data-dir")
        .arg(&data)
        .args([
            "user",
            "create",
            "--tenant",
            "nobody",
            "--email",
            "x@example.com",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(!failure.status.success());
    assert!(String::from_utf8_lossy(&failure.stderr).contains("tenant not found"));
    assert!(failure.stdout.is_empty());

    // The native API is for public clients only, and CORS origins are bare origins.
    for (kind, origin, message) in [
        ("web", "https://app.example", "public clients"),
        ("spa", "https://app.example/path", "without a path"),
    ] {
        let refused = Command::new(env!("CARGO_BIN_EXE_portico"))
            .arg("--data-dir")
            .arg(&data)
            .args([
                "app",
                "create",
                "--tenant",
                "contoso",
                "--name",
                "N",
                "--kind",
                kind,
                "--native-auth",
                "--cors-origin",
                origin,
                "--json",
            ])
            .output()
            .unwrap();
        assert!(!refused.status.success());
        assert!(
            String::from_utf8_lossy(&refused.stderr).contains(message),
            "{}",
            String::from_utf8_lossy(&refused.stderr)
        );
    }
}

/// A failing command: it exits non-zero, prints nothing on stdout, and says why on stderr.
pub(crate) fn portico_refuses(data_dir: &std::path::Path, args: &[&str]) -> String {
    let output = run(data_dir, args);
    assert!(!output.status.success(), "{args:?} succeeded");
    assert!(output.stdout.is_empty());
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// First start: `default` tenant, admin token file 0600 (its path is logged, never the token),
/// the CLI works beside the running server, SIGTERM drains and exits cleanly.
#[tokio::test]
async fn serve_bootstraps_and_shares_the_store_with_the_cli() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log_path = dir.path().join("serve.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_portico"))
        .arg("--data-dir")
        .arg(&data)
        .args([
            "--log-format",
            "json",
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .env_remove("PORTICO_DATABASE_URL")
        .env_remove("PORTICO_MASTER_KEY")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let token_file = data.join("initial-admin-token");
    let mut ready = false;
    // As a deployment script does: wait for /readyz, then expect the first start's work done.
    for _ in 0..200 {
        if reqwest::get(format!("{base}/readyz"))
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        ready,
        "server did not come up: {}",
        std::fs::read_to_string(&log_path).unwrap_or_default()
    );
    assert!(
        token_file.exists(),
        "the admin token is written before /readyz answers"
    );
    let discovery = reqwest::get(format!(
        "{base}/default/v2.0/.well-known/openid-configuration"
    ))
    .await
    .unwrap();
    assert_eq!(
        discovery.status(),
        200,
        "the default tenant exists before /readyz answers"
    );
    let mode = std::fs::metadata(&token_file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let admin_token = std::fs::read_to_string(&token_file)
        .unwrap()
        .trim()
        .to_owned();
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains("initial-admin-token"), "path is logged");
    assert!(!log.contains(&admin_token), "token is never logged");
    assert!(
        log.lines()
            .all(|l| serde_json::from_str::<Value>(l).is_ok()),
        "JSON log lines"
    );

    // The CLI works on the same store while the server runs.
    portico(
        &data,
        &[
            "user",
            "create",
            "--tenant",
            "default",
            "--email",
            "live@example.com",
            "--json",
        ],
    );
    let tenants = reqwest::Client::new()
        .get(format!("{base}/admin/api/v1/tenants"))
        .bearer_auth(&admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(tenants.status(), 200);

    let pid = child.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "graceful shutdown exits 0, got {status:?}"
    );
}
