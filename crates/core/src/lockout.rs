//! Smart lockout for password checks, modelled on Entra's: after 10 counted failures the
//! account locks for a minute, and each further lockout doubles, up to a cap. Repeating the
//! same wrong password does not count again (a user retrying a stale saved password is not an
//! attacker). A success clears everything, and so does a day without attempts (see
//! [`IDLE_SECS`]).
//!
//! Updates are compare-and-swap on a version column, so parallel guesses cannot slip past the
//! counter.

use crate::clock::UnixTime;
use crate::store::LockoutRecord;

/// A record left alone this long, and not locked within it, counts as empty. The same rule
/// holds for accounts and for addresses without one (whose records the purge job deletes an
/// hour later): were a real account's count kept longer than a decoy's, nine wrong
/// guesses, a day's wait and a tenth would tell which addresses have accounts.
pub const IDLE_SECS: i64 = 24 * 3600;

/// How long a legacy password store's answer about one password is trusted: within it a
/// repeat of that password is refused without asking the company's service again (it may
/// count failures of its own, and a device retrying a stale saved password would lock its
/// owner out there). Short, because that service's verdict can change: its own lockout may
/// have said "wrong" to the right password. Kept per password, so other attempts (an
/// attacker's) cannot keep one password's window open.
pub const LEGACY_REPEAT_SECS: i64 = 5 * 60;

/// Between a remembered fingerprint and the time a legacy store was last asked about it
/// (fingerprints are URL-safe base64, which never holds it).
const ASKED_AT: char = '~';

/// A remembered entry's fingerprint, and when a legacy store was last asked about it.
fn parse_entry(entry: &str) -> (&str, Option<UnixTime>) {
    match entry.split_once(ASKED_AT) {
        Some((fingerprint, at)) => (fingerprint, at.parse().ok()),
        None => (entry, None),
    }
}

/// How lockout behaves.
#[derive(Debug, Clone)]
pub struct LockoutPolicy {
    /// Counted failures that trigger a lockout.
    pub threshold: u32,
    /// Length of the first lockout.
    pub base_secs: i64,
    /// Longest lockout.
    pub max_secs: i64,
    /// How many recent wrong-password fingerprints are remembered.
    pub remembered: usize,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self {
            threshold: 10,
            base_secs: 60,
            max_secs: 3600,
            remembered: 8,
        }
    }
}

impl LockoutPolicy {
    /// The record as it stands now: empty (keeping its version, for the compare-and-swap)
    /// once it has been idle for [`IDLE_SECS`] and no lockout ended within that time.
    pub fn current(&self, record: &LockoutRecord, now: UnixTime) -> LockoutRecord {
        let horizon = now - IDLE_SECS;
        if record.updated_at < horizon && record.locked_until < horizon {
            LockoutRecord {
                version: record.version,
                updated_at: record.updated_at,
                ..LockoutRecord::default()
            }
        } else {
            record.clone()
        }
    }

    /// If the account is locked now, until when.
    pub fn locked_until(&self, record: &LockoutRecord, now: UnixTime) -> Option<UnixTime> {
        (record.locked_until > now).then_some(record.locked_until)
    }

    /// The record after a wrong password with this fingerprint.
    pub fn after_failure(
        &self,
        record: &LockoutRecord,
        fingerprint: &str,
        now: UnixTime,
    ) -> LockoutRecord {
        let mut next = record.clone();
        if Self::remembers(record, fingerprint) {
            return next;
        }
        self.remember(&mut next, fingerprint.to_owned());
        next.failures = next.failures.saturating_add(1);
        if next.failures >= self.threshold {
            let factor = 1i64 << next.lockouts.min(20);
            next.locked_until = now + self.base_secs.saturating_mul(factor).min(self.max_secs);
            next.lockouts = next.lockouts.saturating_add(1);
            // The next counted failure after this lockout locks again, for longer.
            next.failures = self.threshold - 1;
        }
        next
    }

    /// Whether this fingerprint is remembered (a repeat, not counted again).
    pub fn remembers(record: &LockoutRecord, fingerprint: &str) -> bool {
        record
            .recent_fingerprints
            .iter()
            .any(|entry| parse_entry(entry).0 == fingerprint)
    }

    fn remember(&self, record: &mut LockoutRecord, entry: String) {
        record.recent_fingerprints.push(entry);
        if record.recent_fingerprints.len() > self.remembered {
            let excess = record.recent_fingerprints.len() - self.remembered;
            record.recent_fingerprints.drain(..excess);
        }
    }

    /// Whether a legacy store was asked about this password within [`LEGACY_REPEAT_SECS`]
    /// (its answer still stands, or the asking is still under way).
    pub fn legacy_asked_recently(record: &LockoutRecord, fingerprint: &str, now: UnixTime) -> bool {
        record.recent_fingerprints.iter().any(|entry| {
            let (remembered, asked_at) = parse_entry(entry);
            remembered == fingerprint && asked_at.is_some_and(|at| now - at < LEGACY_REPEAT_SECS)
        })
    }

    /// The record claiming the asking of a legacy store about this password now, unless it
    /// was asked recently (then unchanged: whoever asked holds the claim).
    pub fn claim_legacy_ask(
        &self,
        record: &LockoutRecord,
        fingerprint: &str,
        now: UnixTime,
    ) -> LockoutRecord {
        if Self::legacy_asked_recently(record, fingerprint, now) {
            return record.clone();
        }
        self.with_asked_at(record, fingerprint, Some(now))
    }

    /// The record with this password's claim dropped but the password still remembered: the
    /// store is asked again at the next try (its answer did not stand: the call failed, or
    /// the password was right), and that try is not counted again.
    pub fn unclaim_legacy_ask(&self, record: &LockoutRecord, fingerprint: &str) -> LockoutRecord {
        self.with_asked_at(record, fingerprint, None)
    }

    /// The record with this fingerprint's entry (in its place, or newly remembered) carrying
    /// `asked_at`.
    fn with_asked_at(
        &self,
        record: &LockoutRecord,
        fingerprint: &str,
        asked_at: Option<UnixTime>,
    ) -> LockoutRecord {
        let entry = match asked_at {
            Some(at) => format!("{fingerprint}{ASKED_AT}{at}"),
            None => fingerprint.to_owned(),
        };
        let mut next = record.clone();
        let existing = next
            .recent_fingerprints
            .iter_mut()
            .find(|remembered| parse_entry(remembered).0 == fingerprint);
        match existing {
            Some(remembered) => *remembered = entry,
            None => self.remember(&mut next, entry),
        }
        next
    }

    /// The record after a correct password.
    pub fn after_success(&self, record: &LockoutRecord) -> LockoutRecord {
        LockoutRecord {
            version: record.version,
            updated_at: record.updated_at,
            ..LockoutRecord::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_distinct_failures_lock_and_lockouts_grow() {
        let policy = LockoutPolicy::default();
        let mut record = LockoutRecord::default();
        for i in 0..9 {
            record = policy.after_failure(&record, &format!("fp{i}"), 1000);
            assert_eq!(policy.locked_until(&record, 1000), None);
        }
        record = policy.after_failure(&record, "fp9", 1000);
        assert_eq!(policy.locked_until(&record, 1000), Some(1060));
        assert_eq!(policy.locked_until(&record, 1060), None);
        record = policy.after_failure(&record, "fp10", 1100);
        assert_eq!(
            policy.locked_until(&record, 1100),
            Some(1220),
            "second lockout doubles"
        );
    }

    #[test]
    fn repeating_the_same_wrong_password_does_not_count() {
        let policy = LockoutPolicy::default();
        let mut record = LockoutRecord::default();
        for _ in 0..50 {
            record = policy.after_failure(&record, "same", 1000);
        }
        assert_eq!(record.failures, 1);
        assert_eq!(policy.locked_until(&record, 1000), None);
    }

    #[test]
    fn success_clears() {
        let policy = LockoutPolicy::default();
        let mut record = LockoutRecord::default();
        for i in 0..5 {
            record = policy.after_failure(&record, &i.to_string(), 1000);
        }
        let cleared = policy.after_success(&record);
        assert_eq!(cleared.failures, 0);
        assert!(cleared.recent_fingerprints.is_empty());
    }

    #[test]
    fn a_legacy_answer_is_trusted_briefly_per_password() {
        let policy = LockoutPolicy::default();
        let mut record = policy.after_failure(&LockoutRecord::default(), "mine", 1000);
        record = policy.claim_legacy_ask(&record, "mine", 1000);
        assert!(LockoutPolicy::remembers(&record, "mine"));
        assert!(LockoutPolicy::legacy_asked_recently(&record, "mine", 1299));
        assert_eq!(policy.claim_legacy_ask(&record, "mine", 1299), record);
        // Another password asked about later does not stretch this one's time.
        record = policy.after_failure(&record, "theirs", 1200);
        record = policy.claim_legacy_ask(&record, "theirs", 1200);
        assert!(!LockoutPolicy::legacy_asked_recently(&record, "mine", 1300));
        assert!(LockoutPolicy::legacy_asked_recently(
            &record, "theirs", 1300
        ));
        // Claimed again: a repeat of a remembered password is still not counted again.
        record = policy.claim_legacy_ask(&record, "mine", 1300);
        assert_eq!(policy.after_failure(&record, "mine", 1301).failures, 2);
        // Unclaimed: asked again at once, still remembered (not counted again).
        let unclaimed = policy.unclaim_legacy_ask(&record, "mine");
        assert!(!LockoutPolicy::legacy_asked_recently(
            &unclaimed, "mine", 1301
        ));
        assert_eq!(policy.after_failure(&unclaimed, "mine", 1301).failures, 2);
        assert_eq!(unclaimed.recent_fingerprints.len(), 2);
    }

    #[test]
    fn a_day_idle_empties_a_record_unless_a_lockout_ended_within_it() {
        let policy = LockoutPolicy::default();
        let mut record = LockoutRecord {
            version: 7,
            updated_at: 1000,
            ..LockoutRecord::default()
        };
        for i in 0..9 {
            record = policy.after_failure(&record, &i.to_string(), 1000);
        }
        assert_eq!(policy.current(&record, 1000 + IDLE_SECS), record);
        let idle = policy.current(&record, 1001 + IDLE_SECS);
        assert_eq!(idle.failures, 0);
        assert!(idle.recent_fingerprints.is_empty());
        assert_eq!(idle.version, 7, "the compare-and-swap still sees the row");
        // Locked late in the idle time: the lockout and its escalation stay.
        record.locked_until = 1000 + IDLE_SECS;
        record.lockouts = 3;
        assert_eq!(policy.current(&record, 1001 + IDLE_SECS), record);
        assert_eq!(policy.current(&record, 1001 + 2 * IDLE_SECS).lockouts, 0);
    }
}
