//! SCIM Groups over HTTP in the shapes Entra provisioning sends (lookup by displayName with
//! members excluded, create, member add and remove by PATCH, rename, delete), nested groups on
//! the User resource, and `portico group` from the command line.

use portico_core::directory::TenantRef;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::TestServer;
use crate::scim::scim_call as call;

fn patch(operations: Value) -> Option<Value> {
    Some(
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": operations}),
    )
}

#[tokio::test]
async fn entra_group_sequence_with_nested_members() {
    let server = TestServer::start().await;
    let (token, _) = server
        .portico()
        .create_scim_token(&TenantRef::Id(server.tenant.id), None)
        .await
        .unwrap();
    let t = token.as_str();
    let mut users = Vec::new();
    for name in ["ann", "ben", "cat"] {
        let (status, body) = call(
            &server,
            t,
            Method::POST,
            "/Users",
            Some(json!({"userName": format!("{name}@example.com")})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        users.push(body["id"].as_str().unwrap().to_owned());
    }

    // Entra looks the group up by name, without members.
    let (status, body) = call(
        &server,
        t,
        Method::GET,
        "/Groups?excludedAttributes=members&filter=displayName%20eq%20%22Pilots%22",
        None,
    )
    .await;
    assert_eq!(
        (status, body["totalResults"].as_u64()),
        (StatusCode::OK, Some(0))
    );
    let (status, group) = call(
        &server,
        t,
        Method::POST,
        "/Groups",
        Some(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
            "displayName": "Pilots",
            "meta": {"resourceType": "Group"},
            "members": [{"value": users[0]}]
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    let id = group["id"].as_str().unwrap().to_owned();
    assert_eq!(group["members"][0]["value"], users[0].as_str());
    assert_eq!(group["members"][0]["type"], "User");
    assert_eq!(group["members"][0]["display"], "ann@example.com");
    let (_, body) = call(
        &server,
        t,
        Method::GET,
        "/Groups?excludedAttributes=members&filter=displayName%20eq%20%22pilots%22",
        None,
    )
    .await;
    assert_eq!(body["Resources"][0]["id"], id.as_str());
    assert!(body["Resources"][0].get("members").is_none());

    // A nested group: crew ⊂ pilots.
    let (_, crew) = call(
        &server,
        t,
        Method::POST,
        "/Groups",
        Some(json!({"displayName": "Crew", "members": [{"value": users[2]}]})),
    )
    .await;
    let crew_id = crew["id"].as_str().unwrap().to_owned();

    // Members added and removed the way Entra does it: answered 204.
    let (status, _) = call(&server, t, Method::PATCH, &format!("/Groups/{id}"), patch(json!([
        {"op": "Add", "path": "members", "value": [{"$ref": null, "value": users[1]}, {"value": crew_id, "type": "Group"}]},
    ]))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call(
        &server,
        t,
        Method::PATCH,
        &format!("/Groups/{id}"),
        patch(json!([
            {"op": "Remove", "path": format!("members[value eq \"{}\"]", users[0])},
            {"op": "Replace", "path": "displayName", "value": "Flight crew"},
        ])),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, body) = call(&server, t, Method::GET, &format!("/Groups/{id}"), None).await;
    assert_eq!(body["displayName"], "Flight crew");
    let mut members: Vec<&str> = body["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    members.sort_unstable();
    let mut want = vec![users[1].as_str(), crew_id.as_str()];
    want.sort_unstable();
    assert_eq!(members, want);

    // Filters on membership, both ways.
    let (_, body) = call(
        &server,
        t,
        Method::GET,
        &format!("/Groups?filter=members.value%20eq%20%22{}%22", users[1]),
        None,
    )
    .await;
    assert_eq!(body["totalResults"], 1);
    let (_, body) = call(
        &server,
        t,
        Method::GET,
        &format!("/Users?filter=groups.value%20eq%20%22{crew_id}%22"),
        None,
    )
    .await;
    assert_eq!(body["Resources"][0]["id"], users[2].as_str());

    // The User resource shows direct and nested groups, read-only.
    let (_, cat) = call(
        &server,
        t,
        Method::GET,
        &format!("/Users/{}", users[2]),
        None,
    )
    .await;
    let groups = cat["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2, "{cat}");
    assert!(
        groups
            .iter()
            .any(|g| g["value"] == crew_id.as_str() && g["type"] == "direct")
    );
    assert!(
        groups
            .iter()
            .any(|g| g["value"] == id.as_str() && g["type"] == "indirect")
    );

    // A filter picks members to remove; replace and add take the members themselves.
    let (status, body) = call(&server, t, Method::PATCH, &format!("/Groups/{id}"), patch(json!([
        {"op": "replace", "path": format!("members[value eq \"{}\"]", users[1]), "value": [{"value": users[2]}]},
    ]))).await;
    assert_eq!(
        (status, body["scimType"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalidPath")),
        "{body}"
    );

    // Members must exist in this tenant; a group cannot hold itself.
    let (status, body) = call(&server, t, Method::PATCH, &format!("/Groups/{id}"), patch(json!([
        {"op": "Add", "path": "members", "value": [{"value": "7d6c8a4e-0000-4000-8000-000000000000"}]},
    ]))).await;
    assert_eq!(
        (status, body["scimType"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalidValue")),
        "{body}"
    );
    let (status, body) = call(
        &server,
        t,
        Method::PATCH,
        &format!("/Groups/{id}"),
        patch(json!([
            {"op": "Add", "path": "members", "value": [{"value": id}]},
        ])),
    )
    .await;
    assert_eq!(
        (status, body["scimType"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalidValue")),
        "{body}"
    );

    // A deleted user leaves its groups; a deleted group its parents.
    let (status, _) = call(
        &server,
        t,
        Method::DELETE,
        &format!("/Users/{}", users[1]),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call(
        &server,
        t,
        Method::DELETE,
        &format!("/Groups/{crew_id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, body) = call(&server, t, Method::GET, &format!("/Groups/{id}"), None).await;
    assert_eq!(body["members"], json!([]), "{body}");
    let (status, _) = call(&server, t, Method::DELETE, &format!("/Groups/{id}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = call(&server, t, Method::GET, &format!("/Groups/{id}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    let entries = server
        .portico()
        .store
        .audit_entries(server.tenant.id, 0, 100)
        .await
        .unwrap();
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e.action.as_str())
        .filter(|a| a.starts_with("group."))
        .collect();
    assert_eq!(
        actions,
        [
            "group.create",
            "group.create",
            "group.patch",
            "group.patch",
            "group.delete",
            "group.delete"
        ]
    );
    server.stop().await;
}
