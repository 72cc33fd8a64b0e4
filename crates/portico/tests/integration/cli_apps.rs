//! The operator CLI contract for applications and their APIs: list, show, change, delete,
//! expose, grant, role assignment, keys and token settings, run as a real process.

use crate::cli::{portico, portico_refuses};

#[tokio::test]
async fn apps_are_listed_shown_changed_and_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    portico(&data, &["tenant", "create", "contoso", "--json"]);
    portico(&data, &["tenant", "create", "fabrikam", "--json"]);
    let spa = portico(
        &data,
        &[
            "app",
            "create",
            "--tenant",
            "contoso",
            "--name",
            "Shop",
            "--kind",
            "spa",
            "--redirect-uri",
            "https://shop.example/cb",
            "--native-auth",
            "--cors-origin",
            "https://shop.example",
            "--json",
        ],
    );
    let id = spa["client_id"].as_str().unwrap().to_owned();
    let listed = portico(&data, &["app", "list", "--tenant", "contoso", "--json"]);
    assert_eq!(listed["applications"].as_array().unwrap().len(), 1);
    assert_eq!(listed["applications"][0]["client_id"], id.as_str());
    let shown = portico(
        &data,
        &["app", "show", "--tenant", "contoso", "--app", &id, "--json"],
    );
    assert_eq!(shown["kind"], "spa");
    assert_eq!(
        shown["redirect_uris"],
        serde_json::json!(["https://shop.example/cb"])
    );
    assert_eq!(
        shown["cors_origins"],
        serde_json::json!(["https://shop.example"])
    );
    assert!(shown.get("client_secret").is_none() && shown.get("secret_digest").is_none());
    // A list given replaces the old one; what is left out stays; off takes the origins.
    let changed = portico(
        &data,
        &[
            "app",
            "update",
            "--tenant",
            "contoso",
            "--app",
            &id,
            "--name",
            "Shop 2",
            "--redirect-uri",
            "https://shop.example/a",
            "--redirect-uri",
            "https://shop.example/b",
            "--native-auth",
            "off",
            "--json",
        ],
    );
    assert_eq!(changed["name"], "Shop 2");
    assert_eq!(
        changed["redirect_uris"],
        serde_json::json!(["https://shop.example/a", "https://shop.example/b"])
    );
    assert_eq!(changed["native_auth"], false);
    assert_eq!(changed["cors_origins"], serde_json::json!([]));
    let cleared = portico(
        &data,
        &[
            "app",
            "update",
            "--tenant",
            "contoso",
            "--app",
            &id,
            "--no-redirect-uris",
            "--json",
        ],
    );
    assert_eq!(cleared["redirect_uris"], serde_json::json!([]));
    assert_eq!(cleared["name"], "Shop 2");
    // Logout URIs: set, then removed; a front-channel one lives on a redirect URI's origin.
    fn update<'a>(id: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec!["app", "update", "--tenant", "contoso", "--app", id];
        args.extend_from_slice(extra);
        args
    }
    let listening = portico(
        &data,
        &update(
            &id,
            &[
                "--redirect-uri",
                "https://shop.example/cb",
                "--backchannel-logout-uri",
                "https://api.shop.example/logout",
                "--frontchannel-logout-uri",
                "https://shop.example/signed-out",
                "--require-dpop",
                "on",
                "--json",
            ],
        ),
    );
    assert_eq!(listening["require_dpop"], true);
    assert_eq!(
        listening["backchannel_logout_uri"],
        "https://api.shop.example/logout"
    );
    assert_eq!(
        listening["frontchannel_logout_uri"],
        "https://shop.example/signed-out"
    );
    let refused = portico_refuses(
        &data,
        &update(
            &id,
            &["--frontchannel-logout-uri", "https://elsewhere.example/out"],
        ),
    );
    assert!(refused.contains("redirect URI"), "{refused}");
    let quiet = portico(
        &data,
        &update(
            &id,
            &[
                "--no-backchannel-logout-uri",
                "--no-frontchannel-logout-uri",
                "--no-redirect-uris",
                "--json",
            ],
        ),
    );
    assert!(quiet["backchannel_logout_uri"].is_null());
    assert!(quiet["frontchannel_logout_uri"].is_null());
    // The same rules as at registration.
    let refused = portico_refuses(
        &data,
        &[
            "app",
            "update",
            "--tenant",
            "contoso",
            "--app",
            &id,
            "--redirect-uri",
            "http://shop.example/cb",
        ],
    );
    assert!(refused.contains("http"), "{refused}");
    // Another tenant's name does not reach the app.
    for command in ["show", "delete"] {
        let refused = portico_refuses(
            &data,
            &["app", command, "--tenant", "fabrikam", "--app", &id],
        );
        assert!(refused.contains("application not found"), "{refused}");
    }
    // Secrets: only confidential clients have them; added (shown once), listed, removed.
    let refused = portico_refuses(
        &data,
        &["app", "secret", "add", "--tenant", "contoso", "--app", &id],
    );
    assert!(refused.contains("public clients"), "{refused}");
    let web = portico(
        &data,
        &[
            "app", "create", "--tenant", "contoso", "--name", "W", "--kind", "web", "--json",
        ],
    );
    let web_id = web["client_id"].as_str().unwrap().to_owned();
    let added = portico(
        &data,
        &[
            "app",
            "secret",
            "add",
            "--tenant",
            "contoso",
            "--app",
            &web_id,
            "--expires-in",
            "30",
            "--json",
        ],
    );
    let secret = added["secret"].as_str().unwrap();
    assert_eq!(added["hint"], &secret[..3]);
    assert_eq!(
        added["expires_at"].as_i64().unwrap() - added["created_at"].as_i64().unwrap(),
        30 * 24 * 3600
    );
    let listed = portico(
        &data,
        &[
            "app", "secret", "list", "--tenant", "contoso", "--app", &web_id, "--json",
        ],
    );
    let secrets = listed["secrets"].as_array().unwrap();
    assert_eq!(
        secrets.len(),
        2,
        "the one made with the app, and the one added"
    );
    assert!(secrets.iter().all(|s| s.get("secret").is_none()));
    let first = secrets[0]["id"].as_str().unwrap();
    let removed = portico(
        &data,
        &[
            "app", "secret", "remove", "--tenant", "contoso", "--app", &web_id, "--secret", first,
            "--json",
        ],
    );
    assert_eq!(removed["removed"], true);
    let deleted = portico(
        &data,
        &[
            "app", "delete", "--tenant", "contoso", "--app", &id, "--json",
        ],
    );
    assert_eq!(deleted["deleted"], true);
    let listed = portico(&data, &["app", "list", "--tenant", "contoso", "--json"]);
    assert_eq!(
        listed["applications"].as_array().unwrap().len(),
        1,
        "the web app only"
    );
}

#[tokio::test]
async fn apis_are_exposed_granted_and_their_roles_assigned() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    portico(&data, &["tenant", "create", "contoso", "--json"]);
    let create = |name: &str, kind: &str| {
        portico(
            &data,
            &[
                "app", "create", "--tenant", "contoso", "--name", name, "--kind", kind, "--json",
            ],
        )["client_id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let api = create("Orders", "web");
    let daemon = create("Sync", "daemon");
    let exposed = portico(
        &data,
        &[
            "app",
            "expose",
            "--tenant",
            "contoso",
            "--app",
            &api,
            "--identifier-uri",
            "api://orders",
            "--scope",
            "Orders.Read=Read your orders",
            "--scope",
            "Orders.Write:admins=Change orders: for administrators",
            "--app-role",
            "Orders.Admin:users",
            "--app-role",
            "Orders.Sync:apps",
            "--json",
        ],
    );
    assert_eq!(exposed["identifier_uri"], "api://orders");
    assert_eq!(exposed["api"]["scopes"][0]["name"], "Orders.Read");
    assert_eq!(
        exposed["api"]["scopes"][0]["user_consent_description"],
        "Read your orders"
    );
    assert_eq!(exposed["api"]["scopes"][0]["consent"], "users");
    assert_eq!(exposed["api"]["scopes"][1]["consent"], "admins");
    assert_eq!(
        exposed["api"]["scopes"][1]["admin_consent_description"],
        "Change orders: for administrators"
    );
    assert_eq!(exposed["api"]["roles"][1]["allowed"], "apps");
    let granted = portico(
        &data,
        &[
            "app",
            "grant",
            "--tenant",
            "contoso",
            "--app",
            &daemon,
            "--api",
            &api,
            "--role",
            "Orders.Sync",
            "--json",
        ],
    );
    assert_eq!(granted["client_id"], daemon.as_str());
    assert_eq!(granted["permissions"][0]["kind"], "role");
    assert_eq!(granted["permissions"][0]["name"], "Orders.Sync");
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
    let assigned = portico(
        &data,
        &[
            "role",
            "assign",
            "--tenant",
            "contoso",
            "--app",
            &api,
            "--role",
            "Orders.Admin",
            "--user",
            "ann@example.com",
            "--json",
        ],
    );
    assert_eq!(assigned["user_id"], user["id"]);
    assert_eq!(assigned["role"], "Orders.Admin");
    let listed = portico(
        &data,
        &[
            "role", "list", "--tenant", "contoso", "--app", &api, "--json",
        ],
    );
    assert_eq!(
        listed,
        serde_json::json!({"assignments": [{"api": api, "role": "Orders.Admin", "user_id": user["id"]}]})
    );
    // A grant taken back: the client holds nothing of the API any more.
    let revoked = portico(
        &data,
        &[
            "app",
            "revoke",
            "--tenant",
            "contoso",
            "--app",
            &daemon,
            "--api",
            &api,
            "--role",
            "Orders.Sync",
            "--json",
        ],
    );
    assert_eq!(revoked["permissions"], serde_json::json!([]));
    portico_refuses(
        &data,
        &[
            "app",
            "revoke",
            "--tenant",
            "contoso",
            "--app",
            &daemon,
            "--api",
            &api,
            "--role",
            "Orders.Sync",
        ],
    );
    let updated = portico(
        &data,
        &[
            "app",
            "update",
            "--tenant",
            "contoso",
            "--app",
            &api,
            "--assignment-required",
            "on",
            "--device-code",
            "on",
            "--access-token-lifetime",
            "900",
            "--json",
        ],
    );
    assert_eq!(updated["assignment_required"], true);
    assert_eq!(updated["device_code"], true);
    // The device code flow is for native and web apps only.
    portico_refuses(
        &data,
        &[
            "app",
            "update",
            "--tenant",
            "contoso",
            "--app",
            &daemon,
            "--device-code",
            "on",
        ],
    );
    assert_eq!(updated["access_token_lifetime_secs"], 900);
    let reset = portico(
        &data,
        &[
            "app",
            "update",
            "--tenant",
            "contoso",
            "--app",
            &api,
            "--access-token-lifetime",
            "default",
            "--json",
        ],
    );
    assert!(reset["access_token_lifetime_secs"].is_null());
    let implicit = portico(
        &data,
        &[
            "app",
            "update",
            "--tenant",
            "contoso",
            "--app",
            &api,
            "--implicit",
            "id-token",
            "--json",
        ],
    );
    assert_eq!(implicit["implicit"], "id-token");
    // private_key_jwt keys from a file, replaced or removed by update.
    let (_, jwk) = crate::private_key_jwt::es256_key();
    let jwk_file = dir.path().join("key.jwk");
    std::fs::write(&jwk_file, serde_json::to_string(&jwk).unwrap()).unwrap();
    let jwk_arg = jwk_file.to_str().unwrap();
    let keyed = portico(
        &data,
        &[
            "app", "update", "--tenant", "contoso", "--app", &daemon, "--jwk", jwk_arg, "--json",
        ],
    );
    assert_eq!(keyed["client_keys"]["keys"][0]["kty"], "EC");
    // A certificate's key (MSAL's certificate credentials), named by its thumbprints.
    let certified = rcgen::generate_simple_self_signed(vec!["daemon".to_owned()]).unwrap();
    let cert_file = dir.path().join("daemon.pem");
    std::fs::write(&cert_file, certified.cert.pem()).unwrap();
    let certified = portico(
        &data,
        &[
            "app",
            "update",
            "--tenant",
            "contoso",
            "--app",
            &daemon,
            "--certificate",
            cert_file.to_str().unwrap(),
            "--json",
        ],
    );
    let key = &certified["client_keys"]["keys"][0];
    assert_eq!(
        (key["kty"].as_str(), key["crv"].as_str()),
        (Some("EC"), Some("P-256"))
    );
    assert!(
        key["x5t#S256"].is_string() && key["x5t"].is_string(),
        "{key}"
    );
    let bad_cert = dir.path().join("bad.pem");
    std::fs::write(
        &bad_cert,
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    portico_refuses(
        &data,
        &[
            "app",
            "update",
            "--tenant",
            "contoso",
            "--app",
            &daemon,
            "--certificate",
            bad_cert.to_str().unwrap(),
        ],
    );
    let unkeyed = portico(
        &data,
        &[
            "app",
            "update",
            "--tenant",
            "contoso",
            "--app",
            &daemon,
            "--no-jwks",
            "--json",
        ],
    );
    assert_eq!(unkeyed["client_keys"]["keys"], serde_json::json!([]));
    // What the API does not define, or defines for others, is refused with a reason.
    for args in [
        vec![
            "app",
            "grant",
            "--tenant",
            "contoso",
            "--app",
            &daemon,
            "--api",
            &api,
            "--role",
            "Orders.Admin",
        ],
        vec![
            "app", "grant", "--tenant", "contoso", "--app", &daemon, "--api", &api,
        ],
        vec![
            "role",
            "assign",
            "--tenant",
            "contoso",
            "--app",
            &api,
            "--role",
            "Orders.Sync",
            "--user",
            "ann@example.com",
        ],
        vec![
            "app",
            "expose",
            "--tenant",
            "contoso",
            "--app",
            &api,
            "--identifier-uri",
            "http://orders",
            "--scope",
            "x",
        ],
        vec![
            "app",
            "update",
            "--tenant",
            "contoso",
            "--app",
            &api,
            "--access-token-lifetime",
            "5",
        ],
    ] {
        assert!(!portico_refuses(&data, &args).is_empty(), "{args:?}");
    }
}

#[tokio::test]
async fn a_users_consents_are_listed_and_revoked() {
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
            "alice@example.com",
            "--json",
        ],
    );
    let listed = portico(
        &data,
        &[
            "user",
            "consents",
            "--tenant",
            "contoso",
            "--user",
            "alice@example.com",
            "--json",
        ],
    );
    assert_eq!(listed, serde_json::json!({"consents": []}));
    let app = portico(
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
    let client_id = app["client_id"].as_str().unwrap();
    let revoked = portico(
        &data,
        &[
            "user",
            "revoke-consent",
            "--tenant",
            "contoso",
            "--user",
            user["id"].as_str().unwrap(),
            "--app",
            client_id,
            "--json",
        ],
    );
    assert_eq!(
        revoked,
        serde_json::json!({"id": user["id"], "email": "alice@example.com", "consents_revoked": 0})
    );
    portico_refuses(
        &data,
        &[
            "user",
            "consents",
            "--tenant",
            "contoso",
            "--user",
            "nobody@example.com",
        ],
    );
}
