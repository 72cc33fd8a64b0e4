//! SCIM Users over HTTP: the sequence Microsoft Entra provisioning sends (in its exact
//! shapes), ETags, and a clear SCIM error for every kind of bad request. A provisioned user
//! signs in with the password SCIM set, and disabling it ends its refresh tokens at once.

use portico_core::directory::TenantRef;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{PASSWORD, TestServer, browser, refresh, spa_tokens};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

struct Scim {
    base: String,
    token: String,
}

impl Scim {
    async fn new(server: &TestServer) -> Self {
        let (token, _) = server
            .portico()
            .create_scim_token(&TenantRef::Id(server.tenant.id), None)
            .await
            .unwrap();
        Self {
            base: server.url("scim/v2"),
            token,
        }
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut request = reqwest::Client::new()
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            // Entra sends application/scim+json.
            request = request
                .header("content-type", "application/scim+json")
                .body(body.to_string());
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        };
        if status.is_client_error() || status.is_server_error() {
            assert_eq!(headers["content-type"], "application/scim+json", "{body}");
            assert_eq!(
                body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error",
                "{body}"
            );
            assert_eq!(body["status"], status.as_u16().to_string(), "{body}");
        }
        (status, headers, body)
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let (status, _, body) = self.call(Method::GET, path, None, &[]).await;
        (status, body)
    }

    async fn patch(&self, path: &str, operations: Value) -> (StatusCode, Value) {
        let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": operations});
        let (status, _, body) = self.call(Method::PATCH, path, Some(body), &[]).await;
        (status, body)
    }
}

fn filter(text: &str) -> String {
    format!(
        "/Users?filter={}",
        url::form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>()
    )
}

#[tokio::test]
async fn entra_provisioning_sequence_creates_changes_disables_and_deletes() {
    let server = TestServer::start().await;
    let scim = Scim::new(&server).await;

    // 1. Entra looks the user up by its matching attribute: nothing yet.
    let (status, body) = scim
        .get(&filter(r#"userName eq "Test_User@contoso.example""#))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["totalResults"], 0);
    assert_eq!(body["Resources"], json!([]));

    // 2. It creates the user, in its own shape.
    let (status, headers, created) = scim
        .call(
            Method::POST,
            "/Users",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
                "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
                "userName": "Test_User@contoso.example",
                "active": true,
                "password": PASSWORD,
                "emails": [{"primary": true, "type": "work", "value": "Test_User@contoso.example"}],
                "meta": {"resourceType": "User"},
                "name": {"formatted": "Given Family", "familyName": "Family", "givenName": "Given"},
                "roles": [],
                ENTERPRISE: {"employeeNumber": "701984", "department": "Tour Operations"}
            })),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["userName"], "test_user@contoso.example");
    assert_eq!(created["name"]["givenName"], "Given");
    assert_eq!(created["name"]["formatted"], "Given Family");
    assert_eq!(created[ENTERPRISE]["department"], "Tour Operations");
    assert!(created.get("password").is_none(), "write-only");
    assert_eq!(created["meta"]["resourceType"], "User");
    assert_eq!(
        created["meta"]["location"],
        format!("{}/Users/{id}", scim.base)
    );
    assert_eq!(headers["location"], format!("{}/Users/{id}", scim.base));
    assert_eq!(
        headers["etag"],
        created["meta"]["version"].as_str().unwrap()
    );

    // The account is the one people sign in with: the password SCIM set works, and the
    // name reaches the tokens' attributes.
    let user = server
        .portico()
        .find_user(&TenantRef::Id(server.tenant.id), &id)
        .await
        .unwrap();
    assert_eq!(user.attributes["givenName"], "Given");
    assert_eq!(user.attributes["surname"], "Family");
    let web = browser();
    let tokens = spa_tokens(&server, &web, "test_user@contoso.example").await;

    // 3. Found by userName (any case) and by externalId.
    let (_, body) = scim
        .get(&filter(r#"userName eq "TEST_USER@contoso.example""#))
        .await;
    assert_eq!(body["totalResults"], 1);
    assert_eq!(body["Resources"][0]["id"], id.as_str());
    let (_, body) = scim
        .get(&filter(
            r#"externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef""#,
        ))
        .await;
    assert_eq!(body["Resources"][0]["id"], id.as_str());

    // 4. Attribute changes: a filtered path, a sub-attribute, path-less dotted keys, the
    //    enterprise extension by URN path, a manager.
    let (status, patched) = scim
        .patch(
            &format!("/Users/{id}"),
            json!([
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updated@contoso.example"},
                {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
                {"op": "Replace", "value": {"displayName": "Given Updated", "name.givenName": "Updated", "title": "Pilot"}},
                {"op": "Add", "path": format!("{ENTERPRISE}:employeeNumber"), "value": "42"},
                {"op": "Add", "path": format!("{ENTERPRISE}:manager"), "value": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}},
                {"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555 0100"},
            ]),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["emails"][0]["value"], "updated@contoso.example");
    assert_eq!(patched["name"]["familyName"], "updatedFamilyName");
    assert_eq!(patched["name"]["givenName"], "Updated");
    assert_eq!(patched["displayName"], "Given Updated");
    assert_eq!(patched["title"], "Pilot");
    assert_eq!(patched[ENTERPRISE]["employeeNumber"], "42");
    assert_eq!(
        patched[ENTERPRISE]["manager"]["value"],
        "26118915-6090-4610-87e4-49d8ca9f808d"
    );
    assert_eq!(
        patched["phoneNumbers"],
        json!([{"type": "mobile", "value": "+1 555 0100"}])
    );
    assert_ne!(patched["meta"]["version"], created["meta"]["version"]);
    let user = server
        .portico()
        .find_user(&TenantRef::Id(server.tenant.id), &id)
        .await
        .unwrap();
    assert_eq!(user.attributes["jobTitle"], "Pilot");
    assert_eq!(user.display_name.as_deref(), Some("Given Updated"));

    // 5. Manager removed, then disabled with the string "False": refresh tokens end at once.
    let (status, body) = scim
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "Remove", "path": format!("{ENTERPRISE}:manager")}]),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body[ENTERPRISE].get("manager").is_none(), "{body}");
    let (status, body) = scim
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "Replace", "path": "active", "value": "False"}]),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["active"], false);
    let (status, body) = refresh(&server, &tokens).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_grant");
    let (_, body) = scim.get(&filter("active eq false")).await;
    assert_eq!(body["totalResults"], 1);

    // 6. Deleted: gone, and a second delete is a 404.
    let (status, _, _) = scim
        .call(Method::DELETE, &format!("/Users/{id}"), None, &[])
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = scim.get(&format!("/Users/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = scim
        .call(Method::DELETE, &format!("/Users/{id}"), None, &[])
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Every change is in the audit log, named by the token that made it.
    let entries = server
        .portico()
        .store
        .audit_entries(server.tenant.id, 0, 100)
        .await
        .unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "user.create",
            "user.patch",
            "user.patch",
            "user.patch",
            "user.delete"
        ]
    );
    assert!(entries.iter().all(|e| e.actor.starts_with("scim-token:")));
    assert!(
        !entries
            .iter()
            .any(|e| e.detail.to_string().contains(PASSWORD)),
        "no secrets in the log"
    );
    server.stop().await;
}

#[tokio::test]
async fn etags_guard_writes_and_spare_reads() {
    let server = TestServer::start().await;
    let scim = Scim::new(&server).await;
    let (_, headers, created) = scim
        .call(
            Method::POST,
            "/Users",
            Some(json!({"userName": "etag@example.com"})),
            &[],
        )
        .await;
    let id = created["id"].as_str().unwrap();
    let tag = headers["etag"].to_str().unwrap().to_owned();
    assert!(tag.starts_with("W/\""), "{tag}");

    let (status, headers, _) = scim
        .call(
            Method::GET,
            &format!("/Users/{id}"),
            None,
            &[("if-none-match", &tag)],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert_eq!(headers["etag"], tag.as_str());

    // A PUT with the current tag wins; the same tag again is stale: 412, nothing written.
    let put = json!({"userName": "etag@example.com", "displayName": "First", "externalId": "e-1"});
    let (status, headers, body) = scim
        .call(
            Method::PUT,
            &format!("/Users/{id}"),
            Some(put),
            &[("if-match", &tag)],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let newer = headers["etag"].to_str().unwrap().to_owned();
    assert_ne!(newer, tag);
    let stale = json!({"userName": "etag@example.com", "displayName": "Second"});
    let (status, _, _) = scim
        .call(
            Method::PUT,
            &format!("/Users/{id}"),
            Some(stale),
            &[("if-match", &tag)],
        )
        .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    let (status, _, _) = scim
        .call(
            Method::DELETE,
            &format!("/Users/{id}"),
            None,
            &[("if-match", &tag)],
        )
        .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    let (_, body) = scim.get(&format!("/Users/{id}")).await;
    assert_eq!(body["displayName"], "First");
    // PUT replaces: what it leaves out is gone.
    assert_eq!(body["externalId"], "e-1");
    let (status, _, body) = scim
        .call(
            Method::PUT,
            &format!("/Users/{id}"),
            Some(json!({"userName": "etag@example.com"})),
            &[("if-match", "*")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.get("externalId").is_none() && body.get("displayName").is_none(),
        "{body}"
    );
    // A PUT that leaves active out does not enable a disabled account.
    let (status, _) = scim
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "path": "active", "value": false}]),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, body) = scim
        .call(
            Method::PUT,
            &format!("/Users/{id}"),
            Some(json!({"userName": "etag@example.com", "displayName": "Again"})),
            &[],
        )
        .await;
    assert_eq!(
        (status, &body["active"]),
        (StatusCode::OK, &json!(false)),
        "{body}"
    );
    let (status, _, body) = scim
        .call(
            Method::PUT,
            &format!("/Users/{id}"),
            Some(json!({"userName": "etag@example.com"})),
            &[("if-match", "not-a-tag")],
        )
        .await;
    assert_eq!(
        (status, body["scimType"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalidVers"))
    );
    server.stop().await;
}

#[tokio::test]
async fn bad_requests_get_scim_errors_not_500s() {
    let server = TestServer::start().await;
    let scim = Scim::new(&server).await;
    let (status, _, taken) = scim
        .call(
            Method::POST,
            "/Users",
            Some(json!({"userName": "taken@example.com"})),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let id = taken["id"].as_str().unwrap();
    let user = format!("/Users/{id}");
    let post = |body: Value| scim.call(Method::POST, "/Users", Some(body), &[]);
    let cases: Vec<(StatusCode, Option<&str>, (StatusCode, reqwest::header::HeaderMap, Value))> = vec![
        (StatusCode::CONFLICT, Some("uniqueness"), post(json!({"userName": "TAKEN@example.com"})).await),
        (StatusCode::BAD_REQUEST, Some("invalidValue"), post(json!({"userName": "not an email"})).await),
        (StatusCode::BAD_REQUEST, Some("invalidValue"), post(json!({"displayName": "no userName"})).await),
        (StatusCode::BAD_REQUEST, Some("invalidValue"), post(json!({"userName": "a@example.com", "active": "maybe"})).await),
        (StatusCode::BAD_REQUEST, Some("invalidValue"), post(json!({"userName": "a@example.com", "favouriteColour": "red"})).await),
        (StatusCode::BAD_REQUEST, Some("invalidValue"), post(json!({"userName": "a@example.com", "password": "short"})).await),
        (StatusCode::BAD_REQUEST, Some("invalidValue"), post(json!({"userName": "a@example.com", "emails": [{"value": "x", "primary": true}, {"value": "y", "primary": true}]})).await),
        (StatusCode::BAD_REQUEST, Some("invalidSyntax"), post(json!(["not", "an", "object"])).await),
        (StatusCode::BAD_REQUEST, Some("invalidFilter"), scim.call(Method::GET, &filter("userName eq"), None, &[]).await),
        (StatusCode::BAD_REQUEST, Some("invalidFilter"), scim.call(Method::GET, &filter(r#"shoeSize eq "9""#), None, &[]).await),
        (StatusCode::BAD_REQUEST, Some("invalidFilter"), scim.call(Method::GET, "/Users?sortBy=nope", None, &[]).await),
        (StatusCode::BAD_REQUEST, Some("invalidValue"), scim.call(Method::GET, "/Users?count=many", None, &[]).await),
        (StatusCode::BAD_REQUEST, Some("mutability"), patch_of(&scim, &user, json!([{"op": "replace", "path": "id", "value": "x"}])).await),
        (StatusCode::BAD_REQUEST, Some("invalidPath"), patch_of(&scim, &user, json!([{"op": "replace", "path": "emails[type eq", "value": "x"}])).await),
        (StatusCode::BAD_REQUEST, Some("invalidPath"), patch_of(&scim, &user, json!([{"op": "replace", "path": "shoeSize", "value": "x"}])).await),
        (StatusCode::BAD_REQUEST, Some("noTarget"), patch_of(&scim, &user, json!([{"op": "remove"}])).await),
        (StatusCode::BAD_REQUEST, Some("noTarget"), patch_of(&scim, &user, json!([{"op": "replace", "path": "emails[value co \"zzz\"].type", "value": "home"}])).await),
        (StatusCode::BAD_REQUEST, Some("invalidValue"), patch_of(&scim, &user, json!([{"op": "remove", "path": "userName"}])).await),
        (StatusCode::BAD_REQUEST, Some("invalidSyntax"), patch_of(&scim, &user, json!([{"op": "move", "path": "title"}])).await),
        (StatusCode::BAD_REQUEST, Some("invalidSyntax"), patch_of(&scim, &user, json!([])).await),
        (StatusCode::BAD_REQUEST, Some("invalidValue"), post(json!({"userName": "a@example.com", "emails": (0..101).map(|n| json!({"value": format!("{n}@example.com")})).collect::<Vec<_>>()})).await),
        (StatusCode::BAD_REQUEST, Some("invalidFilter"), scim.call(Method::GET, &filter(r#"meta.created co "2026""#), None, &[]).await),
        (StatusCode::BAD_REQUEST, Some("tooMany"), patch_of(&scim, &user, Value::Array(vec![json!({"op": "replace", "path": "title", "value": "x"}); 1001])).await),
        (StatusCode::NOT_FOUND, None, scim.call(Method::GET, "/Users/not-a-uuid", None, &[]).await),
        (StatusCode::NOT_FOUND, None, scim.call(Method::GET, "/Users/7d6c8a4e-0000-4000-8000-000000000000", None, &[]).await),
    ];
    for (i, (want, kind, (status, _, body))) in cases.into_iter().enumerate() {
        assert_eq!(status, want, "case {i}: {body}");
        assert_eq!(body["scimType"].as_str(), kind, "case {i}: {body}");
    }
    // A body that is not JSON at all.
    let response = reqwest::Client::new()
        .post(format!("{}/Users", scim.base))
        .bearer_auth(&scim.token)
        .header("content-type", "application/scim+json")
        .body("{\"userName\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["scimType"], "invalidSyntax");
    // Nothing half-written: the one user is as it was.
    let (_, body) = scim.get("/Users").await;
    assert_eq!(body["totalResults"], 1);
    assert_eq!(body["Resources"][0]["userName"], "taken@example.com");
    server.stop().await;
}

async fn patch_of(
    scim: &Scim,
    path: &str,
    operations: Value,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": operations});
    scim.call(Method::PATCH, path, Some(body), &[]).await
}

#[tokio::test]
async fn lists_page_sort_search_and_select_attributes() {
    let server = TestServer::start().await;
    let scim = Scim::new(&server).await;
    for n in 0..5 {
        let (status, _, _) = scim
            .call(Method::POST, "/Users", Some(json!({"userName": format!("u{n}@example.com"), "displayName": format!("User {n}"), "nickName": "n"})), &[])
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (_, body) = scim
        .get("/Users?sortBy=userName&sortOrder=descending&startIndex=2&count=2")
        .await;
    assert_eq!(body["totalResults"], 5);
    assert_eq!(body["startIndex"], 2);
    assert_eq!(body["itemsPerPage"], 2);
    let names: Vec<&str> = body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["userName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["u3@example.com", "u2@example.com"]);

    let (_, body) = scim.get("/Users?count=1&attributes=displayName").await;
    let first = &body["Resources"][0];
    assert!(
        first.get("displayName").is_some()
            && first.get("id").is_some()
            && first.get("nickName").is_none(),
        "{first}"
    );
    let (_, body) = scim
        .get("/Users?count=1&excludedAttributes=emails,meta")
        .await;
    let first = &body["Resources"][0];
    assert!(
        first.get("emails").is_none()
            && first.get("meta").is_none()
            && first.get("nickName").is_some(),
        "{first}"
    );

    let (status, _, body) = scim
        .call(
            Method::POST,
            "/Users/.search",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                "filter": "displayName sw \"user\" and not (userName eq \"u0@example.com\")",
                "sortBy": "userName",
                "count": 10,
                "attributes": ["userName"]
            })),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["totalResults"], 4);
    assert_eq!(body["Resources"][0]["userName"], "u1@example.com");
    assert!(body["Resources"][0].get("displayName").is_none());

    // The server describes itself truthfully.
    let (_, config) = scim.get("/ServiceProviderConfig").await;
    assert_eq!(config["filter"]["supported"], true);
    assert_eq!(config["patch"]["supported"], true);
    assert_eq!(config["etag"]["supported"], true);
    let (_, types) = scim.get("/ResourceTypes").await;
    assert_eq!(types["Resources"][0]["endpoint"], "/Users");
    let (status, schema) = scim.get(&format!("/Schemas/{ENTERPRISE}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        schema["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["name"] == "manager")
    );
    let (_, schemas) = scim.get("/Schemas").await;
    assert_eq!(
        schemas["totalResults"], 3,
        "no custom attributes: no Portico extension"
    );
    server.stop().await;
}

#[tokio::test]
async fn custom_attributes_are_an_extension_that_reaches_the_tokens() {
    use openidconnect::OAuth2TokenResponse;
    use portico_core::directory::{AppKind, AttributeSpec, UserFlowConfig};

    const PORTICO: &str = "urn:portico:params:scim:schemas:extension:custom:2.0:User";
    let server = TestServer::start().await;
    let (client_id, secret) = server
        .app_with_claims(AppKind::Web, &["loyaltyNumber", "givenName", "jobTitle"])
        .await;
    crate::page::flow_for(
        &server,
        &client_id,
        UserFlowConfig {
            attributes: vec![AttributeSpec::parse_cli("loyaltyNumber:int").unwrap()],
            ..UserFlowConfig::default()
        },
    )
    .await;
    let scim = Scim::new(&server).await;
    let (_, schema) = scim.get(&format!("/Schemas/{PORTICO}")).await;
    assert_eq!(schema["attributes"][0]["name"], "loyaltyNumber");
    assert_eq!(schema["attributes"][0]["type"], "integer");
    let (_, types) = scim.get("/ResourceTypes/User").await;
    assert_eq!(types["schemaExtensions"][1]["schema"], PORTICO);

    let (status, _, created) = scim
        .call(
            Method::POST,
            "/Users",
            Some(json!({
                "userName": "ada@example.com",
                "password": PASSWORD,
                "name": {"givenName": "Ada"},
                PORTICO: {"loyaltyNumber": "42"}
            })),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        created[PORTICO]["loyaltyNumber"], 42,
        "the attribute's type, not the string sent"
    );
    let id = created["id"].as_str().unwrap();
    let (status, patched) = scim
        .patch(
            &format!("/Users/{id}"),
            json!([
                {"op": "replace", "path": format!("{PORTICO}:loyaltyNumber"), "value": 43},
                {"op": "replace", "path": "title", "value": "Analyst"}
            ]),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert!(
        patched["schemas"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == PORTICO)
    );
    let (status, _, body) = scim
        .call(
            Method::POST,
            "/Users",
            Some(json!({"userName": "x@example.com", PORTICO: {"shoeSize": 9}})),
            &[],
        )
        .await;
    assert_eq!(
        (status, body["scimType"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalidValue"))
    );
    let (_, found) = scim
        .get(&filter(&format!("{PORTICO}:loyaltyNumber ge 43")))
        .await;
    assert_eq!(found["totalResults"], 1);

    // What SCIM wrote is what the app's tokens say.
    let client = crate::rp::oidc_client(&server, &client_id, &secret.unwrap()).await;
    let tokens = crate::rp::sign_in(&server, &client, &[], "ada@example.com").await;
    let claims = crate::rp::verified_claims(&server, tokens.access_token().secret()).await;
    assert_eq!(claims["loyaltyNumber"], 43);
    assert_eq!(claims["given_name"], "Ada");
    assert_eq!(claims["jobTitle"], "Analyst");
    server.stop().await;
}

#[tokio::test]
async fn a_new_user_name_ends_the_sessions_of_the_old_one() {
    let server = TestServer::start().await;
    let alice = server.user("alice@example.com").await;
    let tokens = spa_tokens(&server, &browser(), "alice@example.com").await;
    let scim = Scim::new(&server).await;
    // Other changes leave the sessions alone.
    let (status, _) = scim
        .patch(
            &format!("/Users/{}", alice.id),
            json!([{"op": "replace", "path": "displayName", "value": "Alice"}]),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, refreshed) = refresh(&server, &tokens).await;
    assert_eq!(status, 200, "{refreshed}");
    let tokens = crate::harness::Tokens {
        client_id: tokens.client_id.clone(),
        body: refreshed,
    };
    let (status, _) = scim
        .patch(
            &format!("/Users/{}", alice.id),
            json!([{"op": "replace", "path": "userName", "value": "mallory@example.com"}]),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = refresh(&server, &tokens).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    server.stop().await;
}
