//! Smart lockout for password checks, modelled on Entra's: after 10 counted failures the
//! account locks for a minute, and each further lockout doubles, up to a cap. Repeating the
//! same wrong password does not count again (a user retrying a stale saved password is not an
//! attacker). A success clears everything.
//!
//! An attempt is counted before its password is checked, so that parallel guesses count; its
//! fingerprint is then "in flight" until the check answers. A wrong answer marks it "known
//! wrong", and only a known-wrong repeat is refused without checking again: a repeat in flight
//! may be the right password sent twice at once (a double submit), which must sign in both
//! times.
//!
//! Updates are compare-and-swap on a version column, so parallel guesses cannot slip past the
//! counter.

use crate::clock::UnixTime;
use crate::store::LockoutRecord;

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
        if next.recent_fingerprints.iter().any(|f| f == fingerprint) {
            return next;
        }
        next.recent_fingerprints.push(fingerprint.to_owned());
        if next.recent_fingerprints.len() > self.remembered {
            let excess = next.recent_fingerprints.len() - self.remembered;
            next.recent_fingerprints.drain(..excess);
        }
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

    /// The record after the check of the attempt with this fingerprint answered wrong.
    pub fn after_wrong(&self, record: &LockoutRecord, fingerprint: &str) -> LockoutRecord {
        let mut next = record.clone();
        if !next.wrong_fingerprints.iter().any(|f| f == fingerprint) {
            next.wrong_fingerprints.push(fingerprint.to_owned());
        }
        // Only fingerprints still remembered: the others would count again anyway.
        next.wrong_fingerprints
            .retain(|f| next.recent_fingerprints.contains(f));
        next
    }

    /// Whether a check has already answered this fingerprint wrong.
    pub fn known_wrong(&self, record: &LockoutRecord, fingerprint: &str) -> bool {
        record.wrong_fingerprints.iter().any(|f| f == fingerprint)
    }

    /// The record after a check that could not answer (a legacy store out of reach): the
    /// same password may be tried again, and counts again then.
    pub fn after_unanswered(&self, record: &LockoutRecord, fingerprint: &str) -> LockoutRecord {
        let mut next = record.clone();
        next.recent_fingerprints.retain(|f| f != fingerprint);
        next.wrong_fingerprints.retain(|f| f != fingerprint);
        next
    }

    /// The record after a correct password.
    pub fn after_success(&self, record: &LockoutRecord) -> LockoutRecord {
        LockoutRecord {
            version: record.version,
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
    fn only_a_repeat_answered_wrong_is_known_wrong() {
        let policy = LockoutPolicy::default();
        let counted = policy.after_failure(&LockoutRecord::default(), "fp", 1000);
        assert!(!policy.known_wrong(&counted, "fp"), "in flight");
        let wrong = policy.after_wrong(&counted, "fp");
        assert!(policy.known_wrong(&wrong, "fp"));
        assert_eq!(wrong.failures, 1, "marking does not count again");
        let retried = policy.after_unanswered(&wrong, "fp");
        assert!(!policy.known_wrong(&retried, "fp"));
        assert!(retried.recent_fingerprints.is_empty());
        // A fingerprint forgotten by the remembered window is not kept as known wrong.
        let mut record = wrong;
        for i in 0..policy.remembered {
            record = policy.after_failure(&record, &i.to_string(), 1000);
        }
        let record = policy.after_wrong(&record, "0");
        assert!(!policy.known_wrong(&record, "fp"));
        assert!(policy.known_wrong(&record, "0"));
    }

    #[test]
    fn success_clears() {
        let policy = LockoutPolicy::default();
        let mut record = LockoutRecord::default();
        for i in 0..5 {
            record = policy.after_failure(&record, &i.to_string(), 1000);
        }
        record = policy.after_wrong(&record, "3");
        let cleared = policy.after_success(&record);
        assert_eq!(cleared.failures, 0);
        assert!(cleared.recent_fingerprints.is_empty());
        assert!(cleared.wrong_fingerprints.is_empty());
    }
}
