//! Reading the native API's own request fields: `challenge_type` and capability lists, and
//! the `attributes` JSON of sign-up. Every reader is total: bad input is a native error, never
//! a panic.

use std::collections::BTreeMap;

use portico_core::signin::NativeClient;
use serde_json::{Map, Value};

use super::NativeError;
use crate::form::Params;

impl Params {
    /// `get` with the native error for a repeated parameter.
    pub(crate) fn one(&self, name: &str) -> Result<Option<String>, NativeError> {
        self.get(name)
            .map_err(|message| NativeError::invalid_request(90100, message))
    }

    /// `one` for a parameter the endpoint cannot do without (Entra's AADSTS900144).
    pub(crate) fn required(&self, name: &str) -> Result<String, NativeError> {
        self.one(name)?.ok_or_else(|| NativeError::missing(name))
    }
}

/// Splits a list parameter: space- or comma-separated (the docs show both).
pub(super) fn list(text: &str) -> impl Iterator<Item = &str> {
    text.split([' ', ','])
        .map(str::trim)
        .filter(|item| !item.is_empty())
}

/// The challenge types a client lists.
#[derive(Debug, Clone, Copy, Default)]
struct ChallengeTypes {
    password: bool,
    oob: bool,
    passkey: bool,
}

/// Reads `challenge_type`: every value must be known, and `redirect` must be there (spec §1.3).
/// `None` when the parameter is absent. `passkey` is Portico's own (beyond Entra's contract).
fn challenge_types(params: &Params) -> Result<Option<ChallengeTypes>, NativeError> {
    let Some(text) = params.one("challenge_type")? else {
        return Ok(None);
    };
    let mut types = ChallengeTypes::default();
    let mut redirect = false;
    for value in list(&text) {
        match value {
            "password" => types.password = true,
            "oob" => types.oob = true,
            "passkey" => types.passkey = true,
            "redirect" => redirect = true,
            other => {
                // UNCONFIRMED number: the docs name the error, not its code.
                return Err(NativeError::new(
                    "unsupported_challenge_type",
                    50199,
                    format!(
                        "The challenge_type list parameter contains an unsupported challenge type: '{other}'."
                    ),
                ));
            }
        }
    }
    if !redirect {
        return Err(NativeError::invalid_request(
            901007,
            "The challenge_type list parameter does not include the 'redirect' type.",
        ));
    }
    Ok(Some(types))
}

/// What the client says it can handle, from `challenge_type` (required) and
/// `capabilities`/`capability` (either name, either separator).
pub(crate) fn client_abilities(params: &Params) -> Result<NativeClient, NativeError> {
    let types = challenge_types(params)?.ok_or_else(|| NativeError::missing("challenge_type"))?;
    let mut client = NativeClient {
        password: types.password,
        oob: types.oob,
        passkey: types.passkey,
        mfa: false,
        registration: false,
    };
    for name in ["capabilities", "capability"] {
        if let Some(text) = params.one(name)? {
            for value in list(&text) {
                match value {
                    "mfa_required" => client.mfa = true,
                    "registration_required" => client.registration = true,
                    // Capabilities this server does not know yet change nothing.
                    _ => {}
                }
            }
        }
    }
    Ok(client)
}

/// A later call's `challenge_type`, when sent, narrows what the flow's start said.
pub(crate) fn narrowed(params: &Params, client: NativeClient) -> Result<NativeClient, NativeError> {
    Ok(match challenge_types(params)? {
        Some(types) => NativeClient {
            password: client.password && types.password,
            oob: client.oob && types.oob,
            passkey: client.passkey && types.passkey,
            ..client
        },
        None => client,
    })
}

/// The `attributes` parameter: a JSON object of attribute name → value. Texts stay as they
/// are; numbers and yes/no values become their text; a list of choices becomes Entra's
/// comma-joined form.
pub(super) fn attributes_param(params: &Params) -> Result<BTreeMap<String, String>, NativeError> {
    let Some(text) = params.one("attributes")? else {
        return Ok(Default::default());
    };
    let bad = || {
        NativeError::invalid_request(
            90100,
            "The attributes parameter must be a JSON object of attribute names and values.",
        )
    };
    let object: Map<String, Value> = serde_json::from_str(&text).map_err(|_| bad())?;
    object
        .into_iter()
        .map(|(name, value)| {
            let text = match value {
                Value::String(s) => s,
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                Value::Array(items) => items
                    .iter()
                    .map(|item| item.as_str().map(str::to_owned).ok_or_else(bad))
                    .collect::<Result<Vec<_>, _>>()?
                    .join(","),
                Value::Null | Value::Object(_) => return Err(bad()),
            };
            Ok((name, text))
        })
        .collect()
}

/// Runs every reader over a request, as the endpoints would; whether all of them accepted it.
/// For the `native_fields` fuzz target and the property tests.
pub fn read_all(params: &Params) -> bool {
    let Ok(client) = client_abilities(params) else {
        return false;
    };
    narrowed(params, client).is_ok() && attributes_param(params).is_ok()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        let body = serde_urlencoded::to_string(pairs).unwrap();
        Params::parse(body.as_bytes()).unwrap()
    }

    #[test]
    fn lists_take_spaces_commas_and_either_capability_name() {
        let client = client_abilities(&params(&[
            ("challenge_type", "oob,password redirect"),
            ("capability", "registration_required,mfa_required"),
        ]))
        .unwrap();
        assert!(client.password && client.oob && client.mfa && client.registration);
        let client = client_abilities(&params(&[
            ("challenge_type", "oob redirect"),
            ("capabilities", "mfa_required something_new"),
        ]))
        .unwrap();
        assert!(!client.password && client.oob && client.mfa && !client.registration);
        let narrowed = narrowed(&params(&[("challenge_type", "password redirect")]), client);
        assert!(!narrowed.unwrap().oob, "a later call narrows, never widens");
    }

    #[test]
    fn attribute_values_take_entras_forms() {
        let values = attributes_param(&params(&[(
            "attributes",
            r#"{"displayName":"Ada","age":36,"newsletter":true,"hobbies":["Dancing","Swimming"]}"#,
        )]))
        .unwrap();
        assert_eq!(values["displayName"], "Ada");
        assert_eq!(values["age"], "36");
        assert_eq!(values["newsletter"], "true");
        assert_eq!(values["hobbies"], "Dancing,Swimming");
        for bad in [
            r#"[1]"#,
            r#"{"a":null}"#,
            r#"{"a":{"b":1}}"#,
            r#"{"a":[1]}"#,
            "{",
        ] {
            let err = attributes_param(&params(&[("attributes", bad)])).unwrap_err();
            assert_eq!((err.error, err.code), ("invalid_request", 90100), "{bad}");
        }
    }

    proptest! {
        /// Whatever arrives, every reader answers (a value or a native error) without a panic.
        #[test]
        fn readers_are_total(
            types in "[a-z_ ,]{0,40}",
            capabilities in "[a-z_ ,]{0,40}",
            attributes in any::<String>(),
        ) {
            let request = params(&[
                ("challenge_type", &types),
                ("capabilities", &capabilities),
                ("attributes", &attributes),
            ]);
            let _ = read_all(&request);
        }

        /// A JSON object of strings comes back as it went in.
        #[test]
        fn string_attributes_round_trip(
            values in proptest::collection::btree_map("[a-zA-Z_]{1,12}", "[^,]{0,20}", 0..6),
        ) {
            let text = serde_json::to_string(&values).unwrap();
            let read = attributes_param(&params(&[("attributes", &text)])).unwrap();
            prop_assert_eq!(read, values);
        }
    }
}
