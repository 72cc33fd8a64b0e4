//! What a new password must be: 8 to 256 characters, not on the shipped list of common and
//! breached passwords, not the email address, and (checked by the driver against the stored
//! hashes) not one of the account's recent passwords.

use std::collections::HashSet;
use std::sync::LazyLock;

use super::engine::PasswordProblem;
use crate::directory::{MAX_PASSWORD_LEN, MIN_PASSWORD_LEN};

/// How many earlier passwords a new one may not repeat (besides the current one).
pub const PASSWORD_HISTORY: u32 = 5;

static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../../data/common-passwords.txt")
        .lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .collect()
});

/// Checks a new password against the policy (the history check needs the store and is the
/// driver's).
pub fn check_new_password(password: &str, email: Option<&str>) -> Result<(), PasswordProblem> {
    let length = password.chars().count();
    if length < MIN_PASSWORD_LEN {
        return Err(PasswordProblem::TooShort);
    }
    if length > MAX_PASSWORD_LEN {
        return Err(PasswordProblem::TooLong);
    }
    let lower = password.to_lowercase();
    if COMMON.contains(lower.as_str()) {
        return Err(PasswordProblem::Banned);
    }
    let mut chars = lower.chars();
    if let Some(first) = chars.next()
        && chars.all(|c| c == first)
    {
        return Err(PasswordProblem::Banned);
    }
    if let Some(email) = email {
        let local = email.split('@').next().unwrap_or_default();
        // The address, or its name part with a few characters around it, guesses too easily.
        let made_of_local = local.chars().count() >= 4
            && lower.contains(local)
            && length < local.chars().count() + 4;
        if lower == email || made_of_local {
            return Err(PasswordProblem::Banned);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_refuses_weak_passwords() {
        let email = Some("ada.lovelace@example.com");
        assert_eq!(
            check_new_password("short", email),
            Err(PasswordProblem::TooShort)
        );
        assert_eq!(
            check_new_password(&"x1".repeat(129), email),
            Err(PasswordProblem::TooLong)
        );
        for banned in [
            "password1",
            "PASSWORD1",
            "qwertyuiop",
            "iloveyou2",
            "aaaaaaaaaa",
        ] {
            assert_eq!(
                check_new_password(banned, email),
                Err(PasswordProblem::Banned),
                "{banned}"
            );
        }
        assert_eq!(
            check_new_password("ada.lovelace@example.com", email),
            Err(PasswordProblem::Banned)
        );
        assert_eq!(
            check_new_password("ada.lovelace1", email),
            Err(PasswordProblem::Banned)
        );
        assert_eq!(check_new_password("correct horse battery", email), Ok(()));
        assert_eq!(check_new_password("Tr0ub4dor&3x", None), Ok(()));
    }

    #[test]
    fn the_shipped_list_is_loaded() {
        assert!(COMMON.len() > 10_000);
        assert!(COMMON.iter().all(|p| p.chars().count() >= MIN_PASSWORD_LEN));
    }
}
