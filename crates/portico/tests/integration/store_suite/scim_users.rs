//! SCIM users: filters become the same SQL answer on both backends, writes check the
//! version, and every change leaves an audit entry.

use std::sync::Arc;

use portico_core::StoreError;
use portico_core::directory::AttributeType;
use portico_core::scim::schema::CustomAttr;
use portico_core::scim::user_filter_of;
use portico_core::store::{AuditEntry, ScimField, ScimQuery, ScimUserRecord, Store};
use serde_json::json;

use super::{setup, user};

fn audit(tenant: portico_core::ids::TenantId, action: &str) -> AuditEntry {
    AuditEntry {
        tenant_id: tenant,
        id: uuid::Uuid::new_v4().to_string(),
        at: 2_000,
        actor: "scim-token:test".into(),
        action: action.into(),
        target: "User/x".into(),
        detail: json!({"k": "v"}),
    }
}

/// Users whose SCIM data exercises every kind of filter term.
pub(super) async fn scim_filters_and_writes_within_their_tenant(store: Arc<dyn Store>) {
    let (t, _, _) = setup(store.as_ref()).await;
    let (other, _, _) = setup(store.as_ref()).await;
    let custom = [CustomAttr {
        name: "loyaltyLevel".into(),
        value_type: AttributeType::Int,
    }];
    let make = |email: &str, external: Option<&str>, profile: serde_json::Value, created: i64| {
        let mut u = user(t.id, email);
        u.created_at = created;
        ScimUserRecord {
            user: u,
            external_id: external.map(str::to_owned),
            profile: profile.as_object().cloned().unwrap_or_default(),
            version: 1,
            updated_at: created,
        }
    };
    let mut ada = make(
        "ada@example.com",
        Some("EXT-1"),
        json!({
            "emails": [{"value": "Ada@Work.example", "type": "work", "primary": true},
                       {"value": "ada@home.example", "type": "home"}],
            "userType": "Employee",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Engines", "manager": {"value": "m-1"}}
        }),
        1_000,
    );
    ada.user.display_name = Some("Ada Lovelace".into());
    ada.user.attributes.insert("givenName".into(), json!("Ada"));
    ada.user.attributes.insert("loyaltyLevel".into(), json!(3));
    let mut bob = make(
        "bob@example.org",
        Some("ext-1"),
        json!({"userType": "Intern"}),
        2_000,
    );
    bob.user.enabled = false;
    bob.user.attributes.insert("loyaltyLevel".into(), json!(7));
    let carol = make("carol@example.com", None, json!({}), 3_000);
    for record in [&ada, &bob, &carol] {
        store
            .create_scim_user(record, &audit(t.id, "user.create"))
            .await
            .unwrap();
    }
    // The same email in another tenant, which no filter here may find.
    let mut stranger = make("ada@example.com", Some("EXT-1"), json!({}), 1_000);
    stranger.user.tenant_id = other.id;
    store
        .create_scim_user(&stranger, &audit(other.id, "user.create"))
        .await
        .unwrap();

    let find = |filter: &'static str| {
        let store = store.clone();
        let custom = custom.clone();
        async move {
            let query = ScimQuery {
                filter: Some(
                    user_filter_of(filter, &custom).unwrap_or_else(|e| panic!("{filter}: {e}")),
                ),
                sort: Some(ScimField::UserName),
                descending: false,
                offset: 0,
                limit: 50,
            };
            let (total, users) = store.scim_users(t.id, &query).await.unwrap();
            let emails: Vec<String> = users.into_iter().map(|u| u.user.email).collect();
            assert_eq!(total as usize, emails.len(), "{filter}");
            emails
        }
    };
    // `setup` made one user already: a@example.com, with nothing SCIM keeps.
    let (s0, a, b, c) = (
        "a@example.com",
        "ada@example.com",
        "bob@example.org",
        "carol@example.com",
    );
    for (filter, want) in [
        (r#"userName eq "ADA@example.com""#, vec![a]),
        (r#"userName sw "B""#, vec![b]),
        (r#"userName ew ".com""#, vec![s0, a, c]),
        (r#"userName co "rol@""#, vec![c]),
        (r#"userName gt "b""#, vec![b, c]),
        (r#"externalId eq "EXT-1""#, vec![a]),
        (r#"externalId eq "ext-1""#, vec![b]),
        ("externalId pr", vec![a, b]),
        ("not (externalId pr)", vec![s0, c]),
        (r#"displayName eq "ada lovelace""#, vec![a]),
        (r#"displayName ne "ada lovelace""#, vec![s0, b, c]),
        ("active eq false", vec![b]),
        (r#"name.givenName eq "ADA""#, vec![a]),
        (
            r#"userType eq "Employee" or userType eq "intern""#,
            vec![a, b],
        ),
        (
            r#"emails[type eq "work" and value co "@work.example"]"#,
            vec![a],
        ),
        (r#"emails.value eq "ada@home.example""#, vec![a]),
        // Only the emails SCIM stored count (the sign-in email is userName).
        (
            r#"emails[type eq "work"].value eq "carol@example.com""#,
            vec![],
        ),
        (r#"emails.primary eq true"#, vec![a]),
        ("not (emails pr)", vec![s0, b, c]),
        (
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "engines""#,
            vec![a],
        ),
        (
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "m-1""#,
            vec![a],
        ),
        (
            "urn:portico:params:scim:schemas:extension:custom:2.0:User:loyaltyLevel gt 5",
            vec![b],
        ),
        (r#"meta.created gt "1970-01-01T00:25:00Z""#, vec![b, c]),
        (
            r#"meta.lastModified le "1970-01-01T00:16:40Z""#,
            vec![s0, a],
        ),
        (r#"userName eq "nobody@example.com""#, vec![]),
    ] {
        assert_eq!(find(filter).await, want, "{filter}");
    }
    for wrong in [
        "userType eq 5",
        "active gt true",
        "password eq \"x\"",
        "nickname.x pr",
        "groups.nope pr",
        "meta.created sw \"2026\"",
        "meta.lastModified co \"1\"",
    ] {
        assert!(user_filter_of(wrong, &custom).is_err(), "{wrong}");
    }

    // Sorting and paging: a page never repeats or skips a user.
    let page = |sort: Option<ScimField>, descending, offset| {
        let store = store.clone();
        async move {
            let query = ScimQuery {
                filter: None,
                sort,
                descending,
                offset,
                limit: 2,
            };
            let (total, users) = store.scim_users(t.id, &query).await.unwrap();
            (
                total,
                users.into_iter().map(|u| u.user.email).collect::<Vec<_>>(),
            )
        }
    };
    assert_eq!(
        page(Some(ScimField::UserName), true, 0).await,
        (4, vec![c.to_owned(), b.to_owned()])
    );
    assert_eq!(
        page(Some(ScimField::UserName), true, 2).await,
        (4, vec![a.to_owned(), s0.to_owned()])
    );
    assert_eq!(
        page(Some(ScimField::ExternalId), false, 0).await.1,
        vec![a.to_owned(), b.to_owned()]
    );
    assert_eq!(page(None, false, 5).await, (4, vec![]));

    // Writes check the version; a disabled account is signed out; delete takes the user.
    let mut changed = ada.clone();
    changed.version = 2;
    changed.user.enabled = false;
    changed.updated_at = 2_500;
    assert!(matches!(
        store
            .replace_scim_user(&changed, 7, None, &audit(t.id, "user.replace"))
            .await,
        Err(StoreError::Contended)
    ));
    store
        .replace_scim_user(&changed, 1, None, &audit(t.id, "user.replace"))
        .await
        .unwrap();
    let read = store.scim_user(t.id, ada.user.id).await.unwrap().unwrap();
    assert_eq!(
        (read.version, read.user.enabled, read.updated_at),
        (2, false, 2_500)
    );
    assert!(
        store
            .user_signed_out_at(t.id, ada.user.id)
            .await
            .unwrap()
            .is_some()
    );
    // A taken email is a conflict.
    let mut clash = bob.clone();
    clash.user.email = c.into();
    clash.version = 2;
    assert!(matches!(
        store
            .replace_scim_user(&clash, 1, None, &audit(t.id, "user.replace"))
            .await,
        Err(StoreError::Conflict(_))
    ));
    // Not from another tenant.
    assert!(matches!(
        store
            .delete_scim_user(other.id, ada.user.id, None, &audit(other.id, "user.delete"))
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store
            .delete_scim_user(t.id, ada.user.id, Some(1), &audit(t.id, "user.delete"))
            .await,
        Err(StoreError::Contended)
    ));
    store
        .delete_scim_user(t.id, ada.user.id, Some(2), &audit(t.id, "user.delete"))
        .await
        .unwrap();
    assert!(store.scim_user(t.id, ada.user.id).await.unwrap().is_none());
    // The count an unfiltered listing reports follows inserts and deletes (kept by triggers).
    let everyone = ScimQuery {
        filter: None,
        sort: None,
        descending: false,
        offset: 0,
        limit: 0,
    };
    assert_eq!(store.scim_users(t.id, &everyone).await.unwrap().0, 3);
    assert_eq!(store.scim_users(other.id, &everyone).await.unwrap().0, 2);
    assert!(
        store
            .find_user(other.id, stranger.user.id)
            .await
            .unwrap()
            .is_some()
    );

    let entries = store.audit_entries(t.id, 0, 100).await.unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions.iter().filter(|a| **a == "user.create").count(), 3);
    assert_eq!(
        actions.iter().filter(|a| **a == "user.replace").count(),
        1,
        "a refused write leaves no entry"
    );
    assert_eq!(actions.iter().filter(|a| **a == "user.delete").count(), 1);
    assert_eq!(entries[0].detail, json!({"k": "v"}));
    assert_eq!(
        store.audit_entries(other.id, 0, 100).await.unwrap().len(),
        1
    );
    assert!(
        store
            .audit_entries(t.id, 2_001, 100)
            .await
            .unwrap()
            .is_empty()
    );
}
