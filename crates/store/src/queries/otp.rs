//! One-time codes and the limits on texts.

use async_trait::async_trait;
use portico_core::StoreError;
use portico_core::clock::UnixTime;
use portico_core::ids::{OtpChallengeId, TenantId};
use portico_core::otp::{LiveChallenge, OtpPurpose, OtpSendStats};
use portico_core::outbox::OutboxRecord;
use portico_core::store::OtpStore;
use portico_core::store::{OtpAttempt, OtpChallengeRecord, SmsBudget, TextRefused};
use sqlx::Row as _;

use crate::rows::{parse, to_u32};
use crate::{PgStore, SqliteStore, db_err};

/// The share of the budget a text counts against, as stored in `otp_challenges.sms_share`.
fn sms_share(budget: &SmsBudget) -> &'static str {
    if budget.to_new_number { "new" } else { "known" }
}

/// A number's block: all but its last three digits (E.164 numbers have at least eight).
fn number_block(number: &str) -> &str {
    let cut = number.len().saturating_sub(3);
    number.get(..cut).unwrap_or(number)
}

macro_rules! otp_queries {
    ($store:ty, $row:ty) => {
        impl $store {
            /// Checks a text's limits inside the transaction that would queue it. The tenant's
            /// row lock comes first (PostgreSQL; SQLite's BEGIN IMMEDIATE serialises anyway):
            /// one text at a time per tenant, so every count below stays true until commit.
            async fn check_sms_budget(
                tx: &mut sqlx::Transaction<'_, <$row as sqlx::Row>::Database>,
                challenge: &OtpChallengeRecord,
                budget: &SmsBudget,
            ) -> Result<Result<(), TextRefused>, StoreError> {
                let tenant = challenge.tenant_id.to_string();
                // A non-key column: "SET id = id" would have SQLite check every row that
                // refers to the tenant, inside the one write lock.
                sqlx::query("UPDATE tenants SET name = name WHERE id = $1")
                    .bind(&tenant)
                    .execute(&mut **tx)
                    .await
                    .map_err(db_err)?;
                if let Some(registration) = &budget.registers {
                    let numbers: Vec<String> = sqlx::query_scalar(
                        "SELECT DISTINCT number FROM phone_verifications \
                         WHERE tenant_id = $1 AND user_id = $2 AND created_at > $3",
                    )
                    .bind(&tenant)
                    .bind(registration.user.to_string())
                    .bind(registration.since)
                    .fetch_all(&mut **tx)
                    .await
                    .map_err(db_err)?;
                    if !numbers.contains(&challenge.subject)
                        && numbers.len() >= registration.numbers as usize
                    {
                        return Ok(Err(TextRefused::TooManyNumbers));
                    }
                }
                let share = sms_share(budget);
                // Per share: codes someone else has sent to a number while registering it
                // (the new share) cannot use up the texts its long-standing owner signs in with.
                let to_number: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM otp_challenges WHERE tenant_id = $1 AND subject = $2 \
                     AND sms_share = $3 AND created_at > $4",
                )
                .bind(&tenant)
                .bind(&challenge.subject)
                .bind(share)
                .bind(budget.since)
                .fetch_one(&mut **tx)
                .await
                .map_err(db_err)?;
                if to_u32(to_number) >= budget.per_number {
                    return Ok(Err(TextRefused::Number));
                }
                // Premium-rate numbers come in blocks: texts to the block of 1,000 numbers this
                // one is in (all but its last three digits), in every share.
                let block = number_block(&challenge.subject);
                let to_block: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM otp_challenges WHERE tenant_id = $1 AND subject BETWEEN $2 AND $3 \
                     AND sms_share IS NOT NULL AND created_at > $4",
                )
                .bind(&tenant)
                .bind(format!("{block}000"))
                .bind(format!("{block}999"))
                .bind(budget.since)
                .fetch_one(&mut **tx)
                .await
                .map_err(db_err)?;
                if to_u32(to_block) >= budget.per_block {
                    return Ok(Err(TextRefused::NumberBlock));
                }
                let texts: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM outbox WHERE tenant_id = $1 AND channel = 'sms' AND created_at > $2",
                )
                .bind(&tenant)
                .bind(budget.since)
                .fetch_one(&mut **tx)
                .await
                .map_err(db_err)?;
                if to_u32(texts) >= budget.texts {
                    return Ok(Err(TextRefused::TenantBudget));
                }
                if budget.to_new_number {
                    let to_new_numbers: i64 = sqlx::query_scalar(
                        "SELECT COUNT(*) FROM otp_challenges WHERE tenant_id = $1 AND sms_share = 'new' AND created_at > $2",
                    )
                    .bind(&tenant)
                    .bind(budget.since)
                    .fetch_one(&mut **tx)
                    .await
                    .map_err(db_err)?;
                    if to_u32(to_new_numbers) >= budget.new_numbers {
                        return Ok(Err(TextRefused::NewNumbers));
                    }
                }
                Ok(Ok(()))
            }
        }

        #[async_trait]
        impl OtpStore for $store {
            async fn sms_sent_since(&self, tenant: TenantId, since: UnixTime) -> Result<u32, StoreError> {
                let row = sqlx::query(
                    "SELECT COUNT(*) AS sent FROM outbox WHERE tenant_id = $1 AND channel = 'sms' AND created_at > $2",
                )
                .bind(tenant.to_string())
                .bind(since)
                .fetch_one(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(to_u32(row.try_get("sent").map_err(db_err)?))
            }

            async fn create_otp_challenge(
                &self,
                challenge: &OtpChallengeRecord,
                message: Option<&OutboxRecord>,
                budget: Option<&SmsBudget>,
            ) -> Result<Result<(), TextRefused>, StoreError> {
                let mut tx = self.begin_write().await?;
                if let Some(budget) = budget {
                    if let Err(refused) = Self::check_sms_budget(&mut tx, challenge, budget).await? {
                        return Ok(Err(refused));
                    }
                }
                sqlx::query(
                    "UPDATE otp_challenges SET consumed_at = $4 \
                     WHERE tenant_id = $1 AND purpose = $2 AND subject = $3 AND consumed_at IS NULL",
                )
                .bind(challenge.tenant_id.to_string())
                .bind(challenge.purpose.as_str())
                .bind(&challenge.subject)
                .bind(challenge.created_at)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                let share = budget.map(sms_share);
                sqlx::query(
                    "INSERT INTO otp_challenges (tenant_id, id, purpose, subject, code_digest, attempts, created_at, expires_at, requester, sms_share) \
                     VALUES ($1, $2, $3, $4, $5, 0, $6, $7, $8, $9)",
                )
                .bind(challenge.tenant_id.to_string())
                .bind(challenge.id.to_string())
                .bind(challenge.purpose.as_str())
                .bind(&challenge.subject)
                .bind(&challenge.code_digest)
                .bind(challenge.created_at)
                .bind(challenge.expires_at)
                .bind(&challenge.requester)
                .bind(share)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                if let Some(registration) = budget.and_then(|b| b.registers.as_ref()) {
                    sqlx::query("INSERT INTO phone_verifications (tenant_id, user_id, number, created_at) VALUES ($1, $2, $3, $4)")
                        .bind(challenge.tenant_id.to_string())
                        .bind(registration.user.to_string())
                        .bind(&challenge.subject)
                        .bind(challenge.created_at)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                }
                if let Some(message) = message {
                    Self::insert_outbox(&mut *tx, message).await?;
                }
                tx.commit().await.map_err(db_err)?;
                Ok(Ok(()))
            }

            async fn otp_send_stats(
                &self,
                tenant: TenantId,
                purpose: OtpPurpose,
                subject: &str,
                requester: &str,
                since: UnixTime,
                now: UnixTime,
            ) -> Result<OtpSendStats, StoreError> {
                let row = sqlx::query(
                    "SELECT COUNT(*) AS sent, MAX(created_at) AS newest, MIN(created_at) AS oldest, \
                     SUM(CASE WHEN requester = $5 THEN 1 ELSE 0 END) AS mine, \
                     MIN(CASE WHEN requester = $5 THEN created_at END) AS my_oldest FROM otp_challenges \
                     WHERE tenant_id = $1 AND purpose = $2 AND subject = $3 AND created_at > $4",
                )
                .bind(tenant.to_string())
                .bind(purpose.as_str())
                .bind(subject)
                .bind(since)
                .bind(requester)
                .fetch_one(&self.pool)
                .await
                .map_err(db_err)?;
                // The newest code: every earlier one was spent when it was issued, so this one
                // alone may be live, and if it is spent, it was redeemed.
                let newest = sqlx::query(
                    "SELECT id, attempts, requester, consumed_at, expires_at FROM otp_challenges \
                     WHERE tenant_id = $1 AND purpose = $2 AND subject = $3 \
                     ORDER BY created_at DESC LIMIT 1",
                )
                .bind(tenant.to_string())
                .bind(purpose.as_str())
                .bind(subject)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?;
                let (mut live, mut last_redeemed) = (None, false);
                if let Some(row) = newest {
                    let consumed_at: Option<UnixTime> = row.try_get("consumed_at").map_err(db_err)?;
                    let expires_at: UnixTime = row.try_get("expires_at").map_err(db_err)?;
                    last_redeemed = consumed_at.is_some();
                    if consumed_at.is_none() && expires_at > now {
                        live = Some(LiveChallenge {
                            id: parse(&row.try_get::<String, _>("id").map_err(db_err)?, "id")?,
                            attempts: to_u32(row.try_get("attempts").map_err(db_err)?),
                            requester: row.try_get("requester").map_err(db_err)?,
                        });
                    }
                }
                Ok(OtpSendStats {
                    sent_last_hour: to_u32(row.try_get("sent").map_err(db_err)?),
                    last_sent_at: row.try_get("newest").map_err(db_err)?,
                    oldest_in_hour: row.try_get("oldest").map_err(db_err)?,
                    sent_by_requester: to_u32(row.try_get::<Option<i64>, _>("mine").map_err(db_err)?.unwrap_or(0)),
                    oldest_by_requester: row.try_get("my_oldest").map_err(db_err)?,
                    live,
                    last_redeemed,
                })
            }

            async fn attempt_otp(
                &self,
                tenant: TenantId,
                challenge: OtpChallengeId,
                _now: UnixTime,
            ) -> Result<Option<OtpAttempt>, StoreError> {
                let row = sqlx::query(
                    "UPDATE otp_challenges SET attempts = attempts + 1 \
                     WHERE tenant_id = $1 AND id = $2 AND consumed_at IS NULL \
                     RETURNING purpose, code_digest, attempts, expires_at",
                )
                .bind(tenant.to_string())
                .bind(challenge.to_string())
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?;
                let Some(row) = row else { return Ok(None) };
                Ok(Some(OtpAttempt {
                    purpose: parse(&row.try_get::<String, _>("purpose").map_err(db_err)?, "purpose")?,
                    code_digest: row.try_get("code_digest").map_err(db_err)?,
                    attempts: to_u32(row.try_get("attempts").map_err(db_err)?),
                    expires_at: row.try_get("expires_at").map_err(db_err)?,
                }))
            }

            async fn consume_otp(
                &self,
                tenant: TenantId,
                challenge: OtpChallengeId,
                now: UnixTime,
            ) -> Result<bool, StoreError> {
                let done = sqlx::query(
                    "UPDATE otp_challenges SET consumed_at = $3 WHERE tenant_id = $1 AND id = $2 AND consumed_at IS NULL",
                )
                .bind(tenant.to_string())
                .bind(challenge.to_string())
                .bind(now)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(done.rows_affected() == 1)
            }
        }
    };
}

otp_queries!(SqliteStore, sqlx::sqlite::SqliteRow);
otp_queries!(PgStore, sqlx::postgres::PgRow);
