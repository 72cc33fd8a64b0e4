//! One-time codes, the outbox and the limits on texts.

use std::sync::Arc;

use portico_core::directory::Tenant;
use portico_core::ids::TenantId;
use portico_core::otp::OtpPurpose;
use portico_core::outbox::{Channel, OutboundMessage};
use portico_core::store::Store;

use super::*;
use crate::harness::join_all;

pub(super) async fn otp_challenges_and_outbox(store: Arc<dyn Store>) {
    let (t, _, _) = setup(store.as_ref()).await;
    let first = challenge(&t, "a@example.com", 1_000);
    store
        .create_otp_challenge(&first, Some(&mail("a@example.com", &t, 1_000)), None)
        .await
        .unwrap()
        .unwrap();
    let second = challenge(&t, "a@example.com", 1_040);
    store
        .create_otp_challenge(&second, Some(&mail("a@example.com", &t, 1_040)), None)
        .await
        .unwrap()
        .unwrap();
    let stats = store
        .otp_send_stats(t.id, OtpPurpose::SignIn, "a@example.com", "r1", 900, 1_050)
        .await
        .unwrap();
    assert_eq!(
        (
            stats.sent_last_hour,
            stats.last_sent_at,
            stats.oldest_in_hour,
            stats.sent_by_requester,
            stats.oldest_by_requester,
        ),
        (2, Some(1_040), Some(1_000), 2, Some(1_000))
    );
    // The newest is the live one (the first was spent when the second was issued).
    assert_eq!(
        stats.live.map(|l| (l.id, l.attempts, l.requester)),
        Some((second.id, 0, "r1".to_owned()))
    );
    let theirs = store
        .otp_send_stats(t.id, OtpPurpose::SignIn, "a@example.com", "r2", 900, 1_050)
        .await
        .unwrap();
    assert_eq!(
        (
            theirs.sent_last_hour,
            theirs.sent_by_requester,
            theirs.oldest_by_requester
        ),
        (2, 0, None)
    );
    // Once expired, no code is live.
    let later = store
        .otp_send_stats(t.id, OtpPurpose::SignIn, "a@example.com", "r1", 900, 1_700)
        .await
        .unwrap();
    assert_eq!(later.live, None);
    assert!(
        store
            .attempt_otp(t.id, first.id, 1_050)
            .await
            .unwrap()
            .is_none(),
        "a new code replaces the old"
    );
    let (other, _, _) = setup(store.as_ref()).await;
    assert!(
        store
            .attempt_otp(other.id, second.id, 1_050)
            .await
            .unwrap()
            .is_none(),
        "tenant isolation"
    );
    let tries = (0..6)
        .map(|_| store.attempt_otp(t.id, second.id, 1_050))
        .collect();
    let mut counts: Vec<u32> = join_all(tries)
        .await
        .into_iter()
        .map(|a| a.unwrap().unwrap().attempts)
        .collect();
    counts.sort_unstable();
    assert_eq!(
        counts,
        vec![1, 2, 3, 4, 5, 6],
        "every try is counted exactly once"
    );
    assert!(store.consume_otp(t.id, second.id, 1_060).await.unwrap());
    assert!(
        !store.consume_otp(t.id, second.id, 1_061).await.unwrap(),
        "spent once"
    );
    assert!(
        store
            .attempt_otp(t.id, second.id, 1_062)
            .await
            .unwrap()
            .is_none()
    );

    // Outbox: both messages are due; parallel claimers split them without overlap.
    assert!(store.outbox_due(2_000).await.unwrap());
    let claims = (0..4)
        .map(|_| store.claim_outbox(2_000, 2_060, 10))
        .collect();
    let claimed: Vec<_> = join_all(claims)
        .await
        .into_iter()
        .flat_map(|c| c.unwrap())
        .collect();
    let mine: Vec<_> = claimed
        .iter()
        .filter(|m| m.tenant_id == Some(t.id))
        .collect();
    assert_eq!(mine.len(), 2, "{claimed:?}");
    assert!(
        mine.iter()
            .all(|m| m.attempts == 1 && m.channel == Channel::Mail)
    );
    assert!(
        store
            .claim_outbox(2_010, 2_070, 10)
            .await
            .unwrap()
            .iter()
            .all(|m| m.tenant_id != Some(t.id)),
        "leased"
    );
    assert!(
        !store.outbox_due(2_011).await.unwrap(),
        "nothing due while leased"
    );
    store.outbox_delivered(mine[0].id, 2_020).await.unwrap();
    store
        .outbox_failed(mine[1].id, Some(3_000), "smtp down")
        .await
        .unwrap();
    assert!(
        store
            .claim_outbox(2_100, 2_160, 10)
            .await
            .unwrap()
            .iter()
            .all(|m| m.tenant_id != Some(t.id))
    );
    assert!(
        !store.outbox_due(2_999).await.unwrap(),
        "the retry is not due yet"
    );
    assert!(store.outbox_due(3_000).await.unwrap());
    let retried = store.claim_outbox(3_000, 3_060, 10).await.unwrap();
    let retried: Vec<_> = retried
        .iter()
        .filter(|m| m.tenant_id == Some(t.id))
        .collect();
    assert_eq!(retried.len(), 1);
    assert_eq!((retried[0].id, retried[0].attempts), (mine[1].id, 2));
    assert_eq!(seal().open(retried[0]).unwrap().text, "12345678");
    // Past its usefulness (its code expired), a message is not sent.
    let stale = mail("stale@example.com", &t, 3_000);
    store.enqueue_message(&stale).await.unwrap();
    assert!(
        store
            .claim_outbox(13_001, 13_060, 10)
            .await
            .unwrap()
            .iter()
            .all(|m| m.id != stale.id),
        "discarded"
    );

    // What a code page asks: did the newest message to this address fail and wait for a retry?
    let late = mail("late@example.com", &t, 4_000);
    store.enqueue_message(&late).await.unwrap();
    let delayed = |tenant: TenantId| {
        let store = Arc::clone(&store);
        async move {
            store
                .delivery_delayed(tenant, "late@example.com")
                .await
                .unwrap()
        }
    };
    assert!(!delayed(t.id).await, "queued, not failed");
    store
        .outbox_failed(late.id, Some(4_010), "smtp down")
        .await
        .unwrap();
    assert!(delayed(t.id).await);
    assert!(!delayed(other.id).await, "tenant isolation");
    store.outbox_delivered(late.id, 4_020).await.unwrap();
    assert!(!delayed(t.id).await, "delivered at last");
}

/// Queues a text to `number` at `at` against `budget`.
pub(super) async fn text(
    store: &dyn Store,
    t: &Tenant,
    number: &str,
    at: i64,
    budget: &portico_core::store::SmsBudget,
) -> Result<(), portico_core::store::TextRefused> {
    let message = OutboundMessage {
        channel: Channel::Sms,
        to: number.to_owned(),
        subject: String::new(),
        text: "code".into(),
        html: None,
    };
    let message = seal().seal(&message, Some(t.id), at, 10_000).unwrap();
    store
        .create_otp_challenge(&challenge(t, number, at), Some(&message), Some(budget))
        .await
        .unwrap()
}

/// Texts queued at once cannot exceed any of their limits (the tenant's budget, the share of
/// new numbers, one number's texts in each share, a block of numbers, one user's new
/// numbers): the counts and the insert are one transaction, serialised per tenant on both
/// backends.
pub(super) async fn sms_limits_hold_under_parallel_texts(store: Arc<dyn Store>) {
    use portico_core::store::{NumberRegistration, SmsBudget, TextRefused};
    let (t, user, _) = setup(store.as_ref()).await;
    let budget = SmsBudget {
        since: 500,
        texts: 6,
        new_numbers: 2,
        to_new_number: false,
        per_number: 2,
        per_block: 10,
        registers: None,
    };
    let parallel = |t: &Tenant, texts: Vec<(String, SmsBudget)>| {
        let sends = texts
            .into_iter()
            .enumerate()
            .map(|(n, (number, budget))| {
                let store = Arc::clone(&store);
                let t = t.clone();
                async move { text(store.as_ref(), &t, &number, 1_000 + n as i64, &budget).await }
            })
            .collect();
        join_all(sends)
    };
    let count = |results: &[Result<(), TextRefused>], outcome: Result<(), TextRefused>| {
        results.iter().filter(|r| **r == outcome).count()
    };
    // One user registering numbers: two new numbers at most, and the share of new numbers
    // is two texts.
    let registering = SmsBudget {
        to_new_number: true,
        registers: Some(NumberRegistration {
            user: user.id,
            since: 500,
            numbers: 2,
        }),
        ..budget
    };
    let results = parallel(
        &t,
        (0..8)
            .map(|n| (format!("+155502000{n}"), registering))
            .collect(),
    )
    .await;
    assert_eq!(count(&results, Ok(())), 2, "{results:?}");
    // Texts to new numbers of other users: the share is spent.
    let unknown = SmsBudget {
        to_new_number: true,
        ..budget
    };
    let results = parallel(
        &t,
        (0..4)
            .map(|n| (format!("+155502100{n}"), unknown))
            .collect(),
    )
    .await;
    assert_eq!(
        count(&results, Err(TextRefused::NewNumbers)),
        4,
        "{results:?}"
    );
    // One number: two texts an hour, whatever they are for.
    let results = parallel(
        &t,
        (0..5)
            .map(|_| ("+15550220000".to_owned(), budget))
            .collect(),
    )
    .await;
    assert_eq!(count(&results, Ok(())), 2, "{results:?}");
    assert_eq!(count(&results, Err(TextRefused::Number)), 3, "{results:?}");
    // Known numbers take the rest of the tenant's six, and no more.
    let results = parallel(
        &t,
        (0..6).map(|n| (format!("+155502300{n}"), budget)).collect(),
    )
    .await;
    assert_eq!(count(&results, Ok(())), 2, "{results:?}");
    assert_eq!(
        count(&results, Err(TextRefused::TenantBudget)),
        4,
        "{results:?}"
    );
    assert_eq!(store.sms_sent_since(t.id, 500).await.unwrap(), 6);
    // Another tenant's budget is its own.
    let (other, _, _) = setup(store.as_ref()).await;
    assert_eq!(
        text(store.as_ref(), &other, "+15550300000", 1_000, &budget).await,
        Ok(())
    );
    // A stranger registering someone's number cannot use up the texts its owner signs in
    // with: one number's texts are counted per share.
    let roomy = SmsBudget {
        texts: 100,
        new_numbers: 50,
        per_block: 5,
        ..budget
    };
    let stranger = SmsBudget {
        to_new_number: true,
        ..roomy
    };
    let number = "+15550400000".to_owned();
    let results = parallel(&other, vec![(number.clone(), stranger); 3]).await;
    assert_eq!(count(&results, Ok(())), 2, "{results:?}");
    let results = parallel(&other, vec![(number, roomy); 3]).await;
    assert_eq!(count(&results, Ok(())), 2, "{results:?}");
    // A block of numbers (all but the last three digits) gets five texts an hour in all.
    let results = parallel(
        &other,
        (0..3).map(|n| (format!("+1555040010{n}"), roomy)).collect(),
    )
    .await;
    assert_eq!(count(&results, Ok(())), 1, "{results:?}");
    assert_eq!(
        count(&results, Err(TextRefused::NumberBlock)),
        2,
        "{results:?}"
    );
    assert_eq!(
        text(store.as_ref(), &other, "+15550410000", 2_000, &roomy).await,
        Ok(()),
        "the next block is another"
    );
}
