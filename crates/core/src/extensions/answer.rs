//! What an extension answers, read as Entra reads it (specs/entra-external-id-contracts.md
//! §2.1–2.7): HTTP 200, `application/json`, `{"data": {"actions": [one action]}}`, the action
//! one the event allows (`@odata.type` matched ignoring case, since Microsoft's own samples
//! differ in case), and its fields of the right types. A refusal carries the error number
//! Entra records for it (1003xxx), for the sign-in log.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::ExtensionEvent;

/// The largest answer read, in bytes (1003024 past it). Entra's limit is not published; an
/// answer is a handful of claims or attributes.
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;
/// The largest claims bag of a token-issuance answer, as JSON (1003025 past it; Entra: 3 KB).
pub const MAX_CLAIMS_BYTES: usize = 3 * 1024;

/// A claim an extension provides: text or a list of texts (Entra takes nothing else).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimValue {
    /// A string.
    Text(String),
    /// An array of strings.
    List(Vec<String>),
}

/// What the extension asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// Token issuance: these claims for the token.
    ProvideClaims(BTreeMap<String, ClaimValue>),
    /// Go on as without the extension (attribute collection, OTP send: the code was sent).
    Continue,
    /// Attribute collection start: values to prefill.
    Prefill(Map<String, Value>),
    /// Attribute collection submit: values that replace what the person typed.
    ModifyAttributes(Map<String, Value>),
    /// Attribute collection submit: refuse, with a message per attribute.
    ValidationError {
        /// The page's message.
        message: Option<String>,
        /// Attribute name → what is wrong with it.
        attribute_errors: BTreeMap<String, String>,
    },
    /// Stop: the person may not go on.
    Block {
        /// A title (password submit).
        title: Option<String>,
        /// The message to show.
        message: Option<String>,
    },
    /// Password submit: the password is right; keep its hash and never call again.
    MigratePassword,
    /// Password submit: the password is right but must be replaced.
    UpdatePassword,
    /// Password submit: the password is wrong.
    Retry,
}

/// Why an answer was refused: Entra's error number and name, and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code} {name}: {detail}")]
pub struct AnswerError {
    /// Entra's number (1003xxx).
    pub code: u32,
    /// Entra's name for it.
    pub name: &'static str,
    /// The particulars.
    pub detail: String,
}

fn refuse<T>(code: u32, name: &'static str, detail: impl Into<String>) -> Result<T, AnswerError> {
    Err(AnswerError {
        code,
        name,
        detail: detail.into(),
    })
}

fn bad_body<T>(detail: impl Into<String>) -> Result<T, AnswerError> {
    refuse(1_003_003, "InvalidResponseBody", detail)
}

/// The action types an event takes, lower-cased, each with what it means.
fn actions(event: ExtensionEvent) -> &'static [(&'static str, Kind)] {
    match event {
        ExtensionEvent::TokenIssuanceStart => &[(
            "microsoft.graph.tokenissuancestart.provideclaimsfortoken",
            Kind::ProvideClaims,
        )],
        ExtensionEvent::AttributeCollectionStart => &[
            (
                "microsoft.graph.attributecollectionstart.continuewithdefaultbehavior",
                Kind::Continue,
            ),
            (
                "microsoft.graph.attributecollectionstart.setprefillvalues",
                Kind::Prefill,
            ),
            (
                "microsoft.graph.attributecollectionstart.showblockpage",
                Kind::Block,
            ),
        ],
        ExtensionEvent::AttributeCollectionSubmit => &[
            (
                "microsoft.graph.attributecollectionsubmit.continuewithdefaultbehavior",
                Kind::Continue,
            ),
            (
                "microsoft.graph.attributecollectionsubmit.modifyattributevalues",
                Kind::Modify,
            ),
            (
                "microsoft.graph.attributecollectionsubmit.showvalidationerror",
                Kind::ValidationError,
            ),
            (
                "microsoft.graph.attributecollectionsubmit.showblockpage",
                Kind::Block,
            ),
        ],
        ExtensionEvent::OtpSend => &[(
            "microsoft.graph.otpsend.continuewithdefaultbehavior",
            Kind::Continue,
        )],
        ExtensionEvent::PasswordSubmit => &[
            (
                "microsoft.graph.passwordsubmit.migratepassword",
                Kind::Migrate,
            ),
            (
                "microsoft.graph.passwordsubmit.updatepassword",
                Kind::Update,
            ),
            ("microsoft.graph.passwordsubmit.retry", Kind::Retry),
            ("microsoft.graph.passwordsubmit.block", Kind::Block),
        ],
    }
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    ProvideClaims,
    Continue,
    Prefill,
    Modify,
    ValidationError,
    Block,
    Migrate,
    Update,
    Retry,
}

/// A key's value, ignoring the case of the key (Microsoft's samples write `@odata.type` and
/// `@odata.Type`).
fn field<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    map.get(key).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

fn optional_text(map: &Map<String, Value>, key: &str) -> Result<Option<String>, AnswerError> {
    match field(map, key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => bad_body(format!("{key} is not a string")),
    }
}

fn object(map: &Map<String, Value>, key: &str) -> Result<Map<String, Value>, AnswerError> {
    match field(map, key) {
        Some(Value::Object(inner)) => Ok(inner.clone()),
        None | Some(Value::Null) => Ok(Map::new()),
        Some(_) => bad_body(format!("{key} is not an object")),
    }
}

/// Reads an extension's HTTP answer to `event`. `nonce` is the one a password-submit request
/// carried, which its answer must echo.
pub fn parse_answer(
    event: ExtensionEvent,
    status: u16,
    content_type: Option<&str>,
    body: &[u8],
    nonce: Option<&str>,
) -> Result<Answer, AnswerError> {
    if status != 200 {
        return refuse(
            1_003_002,
            "InvalidHTTPStatus",
            format!("the extension answered HTTP {status}"),
        );
    }
    let json = content_type
        .and_then(|c| c.split(';').next())
        .is_some_and(|c| c.trim().eq_ignore_ascii_case("application/json"));
    if !json {
        return refuse(
            1_003_006,
            "InvalidResponseContentType",
            format!(
                "the answer's content type is {:?}, not application/json",
                content_type.unwrap_or("missing")
            ),
        );
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return refuse(1_003_009, "EmptyResponse", "the answer has no body");
    }
    if body.len() > MAX_ANSWER_BYTES {
        return refuse(
            1_003_024,
            "ResponseSizeExceeded",
            format!("the answer is larger than {MAX_ANSWER_BYTES} bytes"),
        );
    }
    let Ok(Value::Object(root)) = serde_json::from_slice::<Value>(body) else {
        return bad_body("the answer is not a JSON object");
    };
    let Some(Value::Object(data)) = field(&root, "data") else {
        return bad_body("the answer has no data object");
    };
    let list = match field(data, "actions") {
        Some(Value::Array(list)) => list,
        _ => return bad_body("data has no actions list"),
    };
    let [Value::Object(action)] = list.as_slice() else {
        return refuse(
            1_003_010,
            "InvalidNumberOfActions",
            format!("{} actions where exactly one is expected", list.len()),
        );
    };
    let declared = field(action, "@odata.type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .trim_start_matches('#')
        .to_ascii_lowercase();
    let Some((_, kind)) = actions(event).iter().find(|(name, _)| *name == declared) else {
        return refuse(
            1_003_012,
            "InvalidActionType",
            format!("{declared:?} is not an action of {}", event.as_str()),
        );
    };
    if event == ExtensionEvent::PasswordSubmit
        && let Some(nonce) = nonce
        && field(data, "nonce").and_then(Value::as_str) != Some(nonce)
    {
        return bad_body("the answer does not carry the request's nonce");
    }
    Ok(match kind {
        Kind::ProvideClaims => Answer::ProvideClaims(claims(action)?),
        Kind::Continue => Answer::Continue,
        Kind::Prefill => Answer::Prefill(object(action, "inputs")?),
        Kind::Modify => Answer::ModifyAttributes(object(action, "attributes")?),
        Kind::ValidationError => {
            let mut attribute_errors = BTreeMap::new();
            for (name, text) in object(action, "attributeErrors")? {
                let Value::String(text) = text else {
                    return bad_body(format!("the error for {name} is not a string"));
                };
                attribute_errors.insert(name, text);
            }
            Answer::ValidationError {
                message: optional_text(action, "message")?,
                attribute_errors,
            }
        }
        Kind::Block => Answer::Block {
            title: optional_text(action, "title")?,
            message: optional_text(action, "message")?,
        },
        Kind::Migrate => Answer::MigratePassword,
        Kind::Update => Answer::UpdatePassword,
        Kind::Retry => Answer::Retry,
    })
}

/// The claims of a `provideClaimsForToken` action: a bag of strings and string lists with
/// non-empty keys, at most [`MAX_CLAIMS_BYTES`].
fn claims(action: &Map<String, Value>) -> Result<BTreeMap<String, ClaimValue>, AnswerError> {
    let bag = match field(action, "claims") {
        Some(Value::Object(bag)) => bag,
        None | Some(Value::Null) => {
            return refuse(1_003_007, "NullClaimsResponse", "the action has no claims");
        }
        Some(_) => return bad_body("claims is not an object"),
    };
    if serde_json::to_string(bag).map_or(usize::MAX, |s| s.len()) > MAX_CLAIMS_BYTES {
        return refuse(
            1_003_025,
            "ResponseClaimsSizeExceeded",
            format!("the claims take more than {MAX_CLAIMS_BYTES} bytes"),
        );
    }
    let mut out = BTreeMap::new();
    for (name, value) in bag {
        if name.trim().is_empty() {
            return refuse(
                1_003_026,
                "NullOrEmptyClaimKey",
                "a claim has an empty name",
            );
        }
        let value = match value {
            Value::String(s) => ClaimValue::Text(s.clone()),
            Value::Array(items) => ClaimValue::List(
                items
                    .iter()
                    .map(|i| i.as_str().map(str::to_owned))
                    .collect::<Option<_>>()
                    .map_or_else(
                        || bad_body(format!("claim {name} holds something other than strings")),
                        Ok,
                    )?,
            ),
            _ => {
                return bad_body(format!(
                    "claim {name} is neither a string nor a list of strings"
                ));
            }
        };
        out.insert(name.clone(), value);
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
