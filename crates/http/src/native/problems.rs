//! The engine's problems in the contract's words (spec §1.4–1.8): the error strings,
//! suberrors and AADSTS numbers SDKs branch on.

use portico_core::signin::engine::{CredentialProblem, PasskeyProblem, PasswordProblem, Problem};
use serde_json::{Value, json};

use super::NativeError;
use super::flow::bad_username;

/// The engine's problem in the contract's words (spec §1.4–1.8; the numbers SDKs read).
pub(super) fn problem_error(problem: &Problem) -> NativeError {
    match problem {
        Problem::InvalidEmail => bad_username(),
        // Beyond Entra (no passkeys in its native API): told in the style of its credential
        // errors, with its numbers for a bad credential and for too many tries.
        Problem::Passkey(PasskeyProblem::NotRecognised | PasskeyProblem::Refused) => {
            NativeError::invalid_grant(50126, "The passkey could not be verified.")
        }
        Problem::Passkey(PasskeyProblem::Expired) => NativeError::invalid_grant(
            50126,
            "The passkey challenge expired or was used. Request a new one.",
        ),
        Problem::Passkey(PasskeyProblem::RateLimited) => {
            NativeError::invalid_grant(50053, "Too many attempts were made. Try again later.")
        }
        Problem::UserNotFound => NativeError::new(
            "user_not_found",
            50034,
            "The user account does not exist in the directory.",
        ),
        Problem::UserExists => NativeError::new(
            "user_already_exists",
            1003037,
            "An account with this username already exists.",
        ),
        Problem::SignUpDisabled => NativeError::new(
            "unauthorized_client",
            500207,
            "Sign-up is not enabled for this application.",
        ),
        Problem::Credentials(CredentialProblem::Invalid) => NativeError::invalid_grant(
            50126,
            "Error validating credentials due to invalid username or password.",
        ),
        Problem::Credentials(CredentialProblem::LockedOut | CredentialProblem::RateLimited)
        | Problem::RateLimited => NativeError::invalid_grant(
            50053,
            "The account is locked or too many attempts were made. Try again later.",
        ),
        // UNCONFIRMED: Entra's native API answers a migrated password that must be replaced
        // with an error, not a reset (a known issue of its JIT migration); the number is
        // Entra's "password change required".
        Problem::Credentials(CredentialProblem::ResetRequired) => {
            NativeError::invalid_grant(50142, "The password must be changed. Reset it to continue.")
        }
        Problem::Credentials(CredentialProblem::Disabled) | Problem::AccountDisabled => {
            NativeError::invalid_grant(50057, "The user account is disabled.")
        }
        Problem::WrongCode { attempts_left } => NativeError::invalid_grant(
            50181,
            match attempts_left {
                Some(left) => format!("The code is incorrect. {left} attempts remain."),
                None => "The code is incorrect.".to_owned(),
            },
        )
        .with_suberror("invalid_oob_value"),
        Problem::CodeExpired | Problem::CodeDead => NativeError::invalid_grant(
            50181,
            "The code has expired or can no longer be used. Request a new code.",
        )
        .with_suberror("invalid_oob_value"),
        Problem::SendThrottled { retry_after_secs } => NativeError::invalid_request(
            50196,
            format!("Too many codes were requested. Retry in {retry_after_secs} seconds."),
        ),
        Problem::Password(why) => {
            let (suberror, text) = match why {
                PasswordProblem::TooShort => ("password_too_short", "The password is too short."),
                PasswordProblem::TooLong => ("password_too_long", "The password is too long."),
                PasswordProblem::Banned => (
                    "password_banned",
                    "The password is too common or easy to guess.",
                ),
                PasswordProblem::RecentlyUsed => (
                    "password_recently_used",
                    "The password was used recently. Choose another.",
                ),
                // The engine tells this one as the rate limit; kept for completeness.
                PasswordProblem::RateLimited => (
                    "password_too_many_attempts",
                    "Too many attempts. Try again later.",
                ),
            };
            NativeError::invalid_grant(399246, text).with_suberror(suberror)
        }
        Problem::Attributes(errors) => {
            let mut err =
                NativeError::invalid_grant(55107, "One or more user attributes are not valid.")
                    .with_suberror("attribute_validation_failed");
            let invalid: Vec<Value> = errors.iter().map(|e| json!({ "name": e.name })).collect();
            err.extra
                .insert("invalid_attributes".into(), invalid.into());
            err
        }
        // A custom authentication extension's showValidationError: Entra's native API answers
        // it as an attribute validation failure; the extension's words go in the description.
        Problem::AttributesRefused { message, errors } => {
            let text = message
                .clone()
                .unwrap_or_else(|| "One or more user attributes are not valid.".into());
            let mut err = NativeError::invalid_grant(55107, text)
                .with_suberror("attribute_validation_failed");
            let invalid: Vec<Value> = errors
                .iter()
                .map(|(name, error)| json!({ "name": name, "error": error }))
                .collect();
            err.extra
                .insert("invalid_attributes".into(), invalid.into());
            err
        }
        Problem::InvalidPhone => NativeError::invalid_request(
            90100,
            "The phone number is not valid. Use the international format, such as +14255550123.",
        ),
        // UNCONFIRMED: the contract documents no error for a region the tenant does not text;
        // like the invalid number, it is a request the client should not repeat as it is.
        Problem::PhoneCountryNotAllowed => NativeError::invalid_request(
            90100,
            "Text messages cannot be sent to numbers in this country. Use another number.",
        ),
        // UNCONFIRMED number: the contract documents no error for this limit; the closest is
        // the invalid phone number (a request the client should not repeat as it is).
        Problem::TooManyPhoneNumbers => NativeError::invalid_request(
            901001,
            "Too many phone numbers were given for registration. Use a number given before.",
        ),
        Problem::TooManyWrongCodes => NativeError::invalid_grant(
            50053,
            "Too many wrong codes were entered. Start the sign-in again.",
        ),
        Problem::SecondFactorLocked => NativeError::invalid_grant(
            50053,
            "Too many wrong codes were entered lately. The second factor is locked for a while.",
        ),
        Problem::NoSecondFactor => NativeError::invalid_request(
            50076,
            "Multi-factor authentication is required, but no method is available to this account.",
        ),
    }
}
