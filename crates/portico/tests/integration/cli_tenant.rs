//! The operator CLI contract for a tenant's settings and its initial access tokens for
//! dynamic client registration, run as a real process.

use serde_json::json;

use crate::cli::{portico, portico_refuses};

#[tokio::test]
async fn registration_is_turned_on_and_its_tokens_made_listed_and_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    portico(&data, &["tenant", "create", "contoso", "--json"]);
    let settings = portico(
        &data,
        &[
            "tenant",
            "settings",
            "--tenant",
            "contoso",
            "--dynamic-registration",
            "on",
            "--access-token-lifetime",
            "900",
            "--json",
        ],
    );
    assert_eq!(settings["dynamic_registration"], true);
    assert_eq!(settings["access_token_lifetime_secs"], 900);
    let made = portico(
        &data,
        &[
            "registration-token",
            "create",
            "--tenant",
            "contoso",
            "--uses",
            "3",
            "--json",
        ],
    );
    assert!(
        made["initial_access_token"]
            .as_str()
            .is_some_and(|t| t.len() >= 32)
    );
    assert_eq!(made["max_uses"], 3);
    let id = made["id"].as_str().unwrap().to_owned();
    let listed = portico(
        &data,
        &[
            "registration-token",
            "list",
            "--tenant",
            "contoso",
            "--json",
        ],
    );
    assert_eq!(listed["tokens"][0]["id"], id.as_str());
    assert!(listed["tokens"][0].get("initial_access_token").is_none());
    portico(
        &data,
        &[
            "registration-token",
            "revoke",
            "--tenant",
            "contoso",
            "--id",
            &id,
            "--json",
        ],
    );
    let refused = portico_refuses(
        &data,
        &[
            "registration-token",
            "revoke",
            "--tenant",
            "contoso",
            "--id",
            &id,
        ],
    );
    assert!(refused.contains("not found"), "{refused}");
    let refused = portico_refuses(
        &data,
        &[
            "registration-token",
            "create",
            "--tenant",
            "contoso",
            "--days",
            "365",
        ],
    );
    assert!(refused.contains("1 to 90 days"), "{refused}");
}

#[tokio::test]
async fn scim_tokens_are_made_listed_and_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    portico(&data, &["tenant", "create", "contoso", "--json"]);
    let made = portico(
        &data,
        &[
            "scim-token",
            "create",
            "--tenant",
            "contoso",
            "--expires-in",
            "90",
            "--json",
        ],
    );
    let id = made["id"].as_str().unwrap().to_owned();
    assert!(made["token"].as_str().is_some_and(|t| t.len() >= 32));
    let listed = portico(
        &data,
        &["scim-token", "list", "--tenant", "contoso", "--json"],
    );
    assert_eq!(listed["tokens"][0]["id"], id.as_str());
    assert_eq!(listed["tokens"][0]["status"], "active");
    assert!(
        listed["tokens"][0].get("token").is_none(),
        "never shown again"
    );
    portico(
        &data,
        &[
            "scim-token",
            "revoke",
            "--tenant",
            "contoso",
            "--id",
            &id,
            "--json",
        ],
    );
    let listed = portico(
        &data,
        &["scim-token", "list", "--tenant", "contoso", "--json"],
    );
    assert_eq!(listed["tokens"][0]["status"], "revoked");
    let refused = portico_refuses(
        &data,
        &[
            "scim-token",
            "create",
            "--tenant",
            "contoso",
            "--expires-in",
            "0",
        ],
    );
    assert!(refused.contains("1 to 3650 days"), "{refused}");
}

#[tokio::test]
async fn groups_nest_from_the_command_line_and_the_audit_log_shows_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    portico(&data, &["tenant", "create", "contoso", "--json"]);
    let user = portico(
        &data,
        &[
            "user",
            "create",
            "--tenant",
            "contoso",
            "--email",
            "ann@example.com",
            "--json",
        ],
    );
    let user_id = user["id"].as_str().unwrap().to_owned();
    let outer = portico(
        &data,
        &[
            "group", "create", "--tenant", "contoso", "--name", "Staff", "--json",
        ],
    );
    assert_eq!(outer["display_name"], "Staff");
    let outer = outer["id"].as_str().unwrap().to_owned();
    let inner = portico(
        &data,
        &[
            "group", "create", "--tenant", "contoso", "--name", "Pilots", "--json",
        ],
    );
    let inner = inner["id"].as_str().unwrap().to_owned();
    // A user by email, and a nested group by a second --group.
    portico(
        &data,
        &[
            "group",
            "add-member",
            "--tenant",
            "contoso",
            "--group",
            &inner,
            "--user",
            "ann@example.com",
            "--json",
        ],
    );
    portico(
        &data,
        &[
            "group",
            "add-member",
            "--tenant",
            "contoso",
            "--group",
            &outer,
            "--group",
            &inner,
            "--json",
        ],
    );
    let listed = portico(&data, &["group", "list", "--tenant", "contoso", "--json"]);
    let groups = listed["groups"].as_array().unwrap();
    assert_eq!(groups[0]["display_name"], "Pilots");
    assert_eq!(groups[0]["members"][0]["id"], user_id.as_str());
    assert_eq!(
        groups[1]["members"][0],
        json!({"id": inner, "type": "Group", "display": "Pilots"})
    );
    portico(
        &data,
        &[
            "group",
            "remove-member",
            "--tenant",
            "contoso",
            "--group",
            &inner,
            "--user",
            &user_id,
            "--json",
        ],
    );
    let listed = portico(&data, &["group", "list", "--tenant", "contoso", "--json"]);
    assert_eq!(listed["groups"][0]["members"], json!([]));

    let refused = portico_refuses(
        &data,
        &[
            "group",
            "add-member",
            "--tenant",
            "contoso",
            "--group",
            &inner,
        ],
    );
    assert!(refused.contains("--user"), "{refused}");
    let refused = portico_refuses(
        &data,
        &[
            "group",
            "add-member",
            "--tenant",
            "contoso",
            "--group",
            &inner,
            "--group",
            &inner,
        ],
    );
    assert!(refused.contains("itself"), "{refused}");
    let refused = portico_refuses(
        &data,
        &["group", "create", "--tenant", "contoso", "--name", " "],
    );
    assert!(refused.contains("displayName"), "{refused}");

    let log = portico(
        &data,
        &[
            "audit",
            "list",
            "--tenant",
            "contoso",
            "--since",
            "2020-01-01T00:00:00Z",
            "--json",
        ],
    );
    let actions: Vec<&str> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "group.create",
            "group.create",
            "group.add_member",
            "group.add_member",
            "group.remove_member"
        ]
    );
    assert!(
        log["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["actor"] == "cli")
    );
    // The API whose tokens may reach SCIM must be an app of the tenant.
    let refused = portico_refuses(
        &data,
        &[
            "tenant",
            "settings",
            "--tenant",
            "contoso",
            "--scim-api",
            "7d6c8a4e-0000-4000-8000-000000000000",
        ],
    );
    assert!(refused.contains("no application"), "{refused}");
    let app = portico(
        &data,
        &[
            "app",
            "create",
            "--tenant",
            "contoso",
            "--name",
            "directory",
            "--kind",
            "web",
            "--json",
        ],
    );
    let api = app["client_id"].as_str().unwrap();
    let settings = portico(
        &data,
        &[
            "tenant",
            "settings",
            "--tenant",
            "contoso",
            "--scim-api",
            api,
            "--json",
        ],
    );
    assert_eq!(settings["scim_api"], api);
    let settings = portico(
        &data,
        &[
            "tenant",
            "settings",
            "--tenant",
            "contoso",
            "--scim-api",
            "none",
            "--json",
        ],
    );
    assert!(settings.get("scim_api").is_none());
    let later = portico(
        &data,
        &[
            "audit",
            "list",
            "--tenant",
            "contoso",
            "--since",
            "4102444800",
            "--json",
        ],
    );
    assert_eq!(later["entries"], json!([]));
}

#[tokio::test]
async fn the_passkey_policy_is_set_checked_and_reset_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    portico(&data, &["tenant", "create", "contoso", "--json"]);
    let guid = "cb69481e-8ff7-4039-93ec-0a2729a154a8";
    let set = portico(
        &data,
        &[
            "tenant",
            "passkeys",
            "--tenant",
            "contoso",
            "--rp-id",
            "localhost",
            "--origin",
            "http://localhost:8080/",
            "--user-verification",
            "preferred",
            "--attestation",
            "direct",
            "--aaguid-allow",
            guid,
            "--algorithms",
            "ES256,EdDSA",
            "--counter-regression",
            "log",
            "--json",
        ],
    );
    assert_eq!(set["rp_id"], "localhost");
    assert_eq!(set["origins"], json!(["http://localhost:8080"]));
    assert_eq!(set["effective_origins"], json!(["http://localhost:8080"]));
    assert_eq!(set["user_verification"], "preferred");
    assert_eq!(set["aaguid_allow"], json!([guid]));
    assert_eq!(set["algorithms"], json!(["ES256", "EdDSA"]));
    assert_eq!(set["counter_regression"], "log");
    // Options not given stay; the rest of the settings are untouched by either command.
    let kept = portico(
        &data,
        &["tenant", "passkeys", "--tenant", "contoso", "--json"],
    );
    assert_eq!(kept["aaguid_allow"], json!([guid]));
    let settings = portico(
        &data,
        &[
            "tenant",
            "settings",
            "--tenant",
            "contoso",
            "--sms-countries",
            "+44",
            "--json",
        ],
    );
    assert_eq!(settings["passkeys"]["rp_id"], "localhost");

    // What could not work is refused: an id that does not cover an origin, an insecure
    // origin, AAGUID lists without attestation.
    for args in [
        vec!["--rp-id", "example.com"],
        vec!["--origin", "http://example.com"],
        vec!["--attestation", "none"],
        vec!["--algorithms", "PS256"],
    ] {
        let mut all = vec!["tenant", "passkeys", "--tenant", "contoso"];
        all.extend(args.iter());
        all.push("--json");
        let refused = portico_refuses(&data, &all);
        assert!(!refused.is_empty(), "{args:?}");
    }
    let reset = portico(
        &data,
        &[
            "tenant", "passkeys", "--tenant", "contoso", "--reset", "--json",
        ],
    );
    assert!(reset.get("rp_id").is_none());
    assert_eq!(reset["user_verification"], "required");
    assert_eq!(
        reset["effective_rp_id"], "127.0.0.1",
        "the public URL's host"
    );
}
