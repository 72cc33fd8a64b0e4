//! Groups: members checked to be the tenant's, nesting followed (even round in a circle),
//! group filters in SQL, and roles held through groups.

use std::sync::Arc;

use portico_core::StoreError;
use portico_core::scim::user_filter_of;
use portico_core::store::{
    AuditEntry, GroupChange, GroupRecord, GroupRoleAssignment, Member, MemberKind, MembersChange,
    RoleAssignment, ScimField, ScimFilter, ScimQuery, Store,
};
use serde_json::json;

use super::{setup, user};

fn audit(tenant: portico_core::ids::TenantId) -> AuditEntry {
    AuditEntry {
        tenant_id: tenant,
        id: uuid::Uuid::now_v7().to_string(),
        at: 2_000,
        actor: "cli".into(),
        action: "group.test".into(),
        target: "Group/x".into(),
        detail: json!({}),
    }
}

fn member(id: &str) -> Member {
    Member {
        id: id.to_owned(),
        kind: MemberKind::User,
        display: None,
    }
}

fn group(tenant: portico_core::ids::TenantId, name: &str, members: Vec<Member>) -> GroupRecord {
    GroupRecord {
        tenant_id: tenant,
        id: uuid::Uuid::new_v4().to_string(),
        display_name: name.into(),
        external_id: None,
        members,
        created_at: 1_000,
        updated_at: 1_000,
        version: 1,
    }
}

pub(super) async fn groups_nest_and_carry_roles_within_their_tenant(store: Arc<dyn Store>) {
    let (t, alice, app) = setup(store.as_ref()).await;
    let (other, stranger, _) = setup(store.as_ref()).await;
    let bob = user(t.id, "bob@example.com");
    store.create_user(&bob).await.unwrap();

    let inner = group(t.id, "Inner", vec![member(&alice.id.to_string())]);
    store.create_group(&inner, &audit(t.id)).await.unwrap();
    let outer = group(t.id, "Outer", vec![member(&inner.id)]);
    store.create_group(&outer, &audit(t.id)).await.unwrap();
    // Another tenant's user or group is no member here.
    let bad = group(t.id, "Bad", vec![member(&stranger.id.to_string())]);
    assert!(matches!(
        store.create_group(&bad, &audit(t.id)).await,
        Err(StoreError::NotFound("member"))
    ));
    assert!(
        store.group(t.id, &bad.id, false).await.unwrap().is_none(),
        "nothing half-written"
    );
    let theirs = group(other.id, "Theirs", vec![]);
    store.create_group(&theirs, &audit(other.id)).await.unwrap();
    assert!(
        store
            .group(t.id, &theirs.id, false)
            .await
            .unwrap()
            .is_none()
    );

    // The kind is what the id is, whatever the client said.
    let read = store.group(t.id, &outer.id, true).await.unwrap().unwrap();
    assert_eq!(read.members[0].kind, MemberKind::Group);
    assert_eq!(read.members[0].display.as_deref(), Some("Inner"));

    // Nesting, direct and not; a circle ends.
    let change = GroupChange {
        tenant_id: t.id,
        id: inner.id.clone(),
        expected: Some(1),
        display_name: "Inner".into(),
        external_id: Some("ext".into()),
        members: MembersChange::Edit {
            add: vec![member(&outer.id)],
            remove: vec![],
        },
        at: 2_000,
    };
    assert_eq!(store.change_group(&change, &audit(t.id)).await.unwrap(), 2);
    assert!(matches!(
        store.change_group(&change, &audit(t.id)).await,
        Err(StoreError::Contended)
    ));
    let groups = store
        .groups_of_users(t.id, &[alice.id, bob.id])
        .await
        .unwrap();
    let mut seen: Vec<(&str, bool)> = groups
        .iter()
        .map(|g| (g.display_name.as_str(), g.direct))
        .collect();
    seen.sort_unstable();
    assert_eq!(seen, [("Inner", true), ("Outer", false)]);

    // Roles through the nesting, beside the user's own.
    store
        .assign_group_role(
            t.id,
            &GroupRoleAssignment {
                api_client_id: app.client_id,
                group_id: outer.id.clone(),
                role: "Orders.Admin".into(),
            },
            2_000,
        )
        .await
        .unwrap();
    store
        .assign_role(&RoleAssignment {
            tenant_id: t.id,
            api_client_id: app.client_id,
            role: "Orders.Read".into(),
            user_id: alice.id,
            created_at: 2_000,
        })
        .await
        .unwrap();
    assert_eq!(
        store
            .user_roles(t.id, app.client_id, alice.id)
            .await
            .unwrap(),
        ["Orders.Admin", "Orders.Read"]
    );
    assert!(
        store
            .user_roles(t.id, app.client_id, bob.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        store
            .assign_group_role(
                t.id,
                &GroupRoleAssignment {
                    api_client_id: app.client_id,
                    group_id: theirs.id.clone(),
                    role: "Orders.Admin".into()
                },
                2_000
            )
            .await,
        Err(StoreError::NotFound("group"))
    ));

    // Group filters in SQL.
    let find = |filter: ScimFilter| {
        let store = store.clone();
        async move {
            let query = ScimQuery {
                filter: Some(filter),
                sort: Some(ScimField::DisplayName),
                descending: false,
                offset: 0,
                limit: 10,
            };
            store
                .groups(t.id, &query, false)
                .await
                .unwrap()
                .1
                .into_iter()
                .map(|g| g.display_name)
                .collect::<Vec<_>>()
        }
    };
    let group_filter = |text: &str| portico_core::scim::group_filter_of(text).unwrap();
    assert_eq!(
        find(group_filter(r#"displayName eq "inner""#)).await,
        ["Inner"]
    );
    assert_eq!(
        find(group_filter(r#"externalId eq "ext""#)).await,
        ["Inner"]
    );
    assert_eq!(
        find(group_filter(&format!(
            r#"members[value eq "{}" and type eq "User"]"#,
            alice.id
        )))
        .await,
        ["Inner"]
    );
    assert_eq!(
        find(group_filter(r#"members.type eq "Group""#)).await,
        ["Inner", "Outer"]
    );
    assert_eq!(
        find(group_filter("not (members pr)")).await,
        Vec::<String>::new()
    );
    // Users by group.
    let by_group = user_filter_of(&format!(r#"groups.value eq "{}""#, inner.id), &[]).unwrap();
    let query = ScimQuery {
        filter: Some(by_group),
        sort: None,
        descending: false,
        offset: 0,
        limit: 10,
    };
    let (total, users) = store.scim_users(t.id, &query).await.unwrap();
    assert_eq!((total, users[0].user.id), (1, alice.id));

    // A deleted group leaves its parents and takes its roles along.
    store
        .delete_group(t.id, &outer.id, None, &audit(t.id))
        .await
        .unwrap();
    assert_eq!(
        store
            .user_roles(t.id, app.client_id, alice.id)
            .await
            .unwrap(),
        ["Orders.Read"]
    );
    let read = store.group(t.id, &inner.id, true).await.unwrap().unwrap();
    assert_eq!(read.members.len(), 1);
    assert!(
        store
            .group_role_assignments(t.id, app.client_id)
            .await
            .unwrap()
            .is_empty()
    );
}
