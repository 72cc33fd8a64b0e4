//! Groups in tokens: an app that opts in gets its users' groups (by id, nested ones too, or
//! by name for the groups assigned to it), overage past 200 groups with an endpoint that
//! lists them only to the user's own token, and app roles held through (nested) groups. The
//! tokens come to a third-party client (`openidconnect`) and are checked against the JWKS.

use openidconnect::OAuth2TokenResponse;
use portico_core::directory::{AppChanges, AppKind, GroupsClaim, TenantRef};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::api_access::Admin;
use crate::harness::TestServer;
use crate::rp::{oidc_client, sign_in, verified_claims};

const ACTOR: &str = "test";

async fn groups_claim(server: &TestServer, app: &str, setting: GroupsClaim) {
    let changes = AppChanges {
        groups_claim: Some(setting),
        ..AppChanges::default()
    };
    server
        .portico()
        .update_application(
            &TenantRef::Id(server.tenant.id),
            app.parse().unwrap(),
            changes,
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn roles_and_group_names_reach_members_of_nested_groups() {
    let server = TestServer::start().await;
    let tenant = TenantRef::Id(server.tenant.id);
    let portico = server.portico();
    let alice = server.user("alice@example.com").await;
    server.user("bob@example.com").await;
    let admin = Admin::new(&server).await;
    let (api, _) = server.app(AppKind::Web).await;
    let (client_id, secret) = server.app(AppKind::Web).await;
    admin.expose_orders(&api).await;
    let (status, _) = admin.grant(&client_id, &api, &["Orders.Read"], &[]).await;
    assert_eq!(status, StatusCode::OK);

    // alice ∈ pilots ⊂ staff; staff holds Orders.Admin on the API; "Visitors" holds nothing.
    let staff = portico.create_group(&tenant, "Staff", ACTOR).await.unwrap();
    let pilots = portico
        .create_group(&tenant, "Pilots", ACTOR)
        .await
        .unwrap();
    let visitors = portico
        .create_group(&tenant, "Visitors", ACTOR)
        .await
        .unwrap();
    portico
        .change_group_member(&tenant, &staff.id, &pilots.id, true, ACTOR)
        .await
        .unwrap();
    for group in [&pilots.id, &visitors.id] {
        portico
            .change_group_member(&tenant, group, &alice.id.to_string(), true, ACTOR)
            .await
            .unwrap();
    }
    let api_id = api.parse().unwrap();
    portico
        .assign_group_role(&tenant, api_id, "Orders.Admin", &staff.id)
        .await
        .unwrap();
    // A role apps hold cannot go to a group.
    assert!(
        portico
            .assign_group_role(&tenant, api_id, "Orders.Sync", &staff.id)
            .await
            .is_err()
    );
    groups_claim(&server, &api, GroupsClaim::Names).await;
    groups_claim(&server, &client_id, GroupsClaim::Ids).await;

    let client = oidc_client(&server, &client_id, &secret.unwrap()).await;
    let tokens = sign_in(
        &server,
        &client,
        &["api://orders/Orders.Read"],
        "alice@example.com",
    )
    .await;
    let access = verified_claims(&server, tokens.access_token().secret()).await;
    assert_eq!(access["aud"], api.as_str());
    assert_eq!(
        access["roles"],
        json!(["Orders.Admin"]),
        "held through a nested group"
    );
    assert_eq!(
        access["groups"],
        json!(["Staff"]),
        "names of the groups assigned to the API only"
    );
    let id_token: Value = verified_claims(
        &server,
        &tokens.extra_fields().id_token().unwrap().to_string(),
    )
    .await;
    let mut ids: Vec<&str> = id_token["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_str().unwrap())
        .collect();
    ids.sort_unstable();
    let mut want = vec![staff.id.as_str(), pilots.id.as_str(), visitors.id.as_str()];
    want.sort_unstable();
    assert_eq!(ids, want, "the client asked for every group by id");

    // bob is in no group: no roles, no groups claim at all.
    let tokens = sign_in(
        &server,
        &client,
        &["api://orders/Orders.Read"],
        "bob@example.com",
    )
    .await;
    let access = verified_claims(&server, tokens.access_token().secret()).await;
    assert!(
        access.get("roles").is_none() && access.get("groups").is_none(),
        "{access}"
    );

    // Out of the group, out of the role at the next token.
    portico
        .change_group_member(&tenant, &staff.id, &pilots.id, false, ACTOR)
        .await
        .unwrap();
    let tokens = sign_in(
        &server,
        &client,
        &["api://orders/Orders.Read"],
        "alice@example.com",
    )
    .await;
    let access = verified_claims(&server, tokens.access_token().secret()).await;
    assert!(access.get("roles").is_none(), "{access}");
    server.stop().await;
}

#[tokio::test]
async fn past_200_groups_the_token_points_to_an_endpoint_only_its_user_can_read() {
    let server = TestServer::start().await;
    let tenant = TenantRef::Id(server.tenant.id);
    let portico = server.portico();
    let alice = server.user("alice@example.com").await;
    server.user("mallory@example.com").await;
    let (client_id, secret) = server.app(AppKind::Web).await;
    groups_claim(&server, &client_id, GroupsClaim::Ids).await;
    for n in 0..201 {
        let group = portico
            .create_group(&tenant, &format!("g{n}"), ACTOR)
            .await
            .unwrap();
        portico
            .change_group_member(&tenant, &group.id, &alice.id.to_string(), true, ACTOR)
            .await
            .unwrap();
    }
    let client = oidc_client(&server, &client_id, &secret.unwrap()).await;
    let tokens = sign_in(&server, &client, &[], "alice@example.com").await;
    let access = verified_claims(&server, tokens.access_token().secret()).await;
    assert!(access.get("groups").is_none());
    assert_eq!(access["_claim_names"], json!({"groups": "src1"}));
    let endpoint = access["_claim_sources"]["src1"]["endpoint"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        endpoint,
        server.url(&format!("users/{}/getMemberObjects", alice.id))
    );

    let http = reqwest::Client::new();
    let response = http
        .post(&endpoint)
        .bearer_auth(tokens.access_token().secret())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["value"].as_array().unwrap().len(), 201);

    // Another user's token, or none, reads nothing.
    let theirs = sign_in(&server, &client, &[], "mallory@example.com").await;
    let response = http
        .get(&endpoint)
        .bearer_auth(theirs.access_token().secret())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = http.get(&endpoint).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // An app that does not receive groups does not read them here either.
    let (plain_id, plain_secret) = server.app(AppKind::Web).await;
    let plain = oidc_client(&server, &plain_id, &plain_secret.unwrap()).await;
    let without = sign_in(&server, &plain, &[], "alice@example.com").await;
    let response = http
        .get(&endpoint)
        .bearer_auth(without.access_token().secret())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    server.stop().await;
}
