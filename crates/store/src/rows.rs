//! Conversions between stored primitives and domain types, shared by both backends.

use std::str::FromStr;

use portico_core::StoreError;
use portico_core::store::KeyState;
use portico_keys::SigningAlgorithm;

/// Parses a stored value, reporting which column was corrupt.
pub(crate) fn parse<T: FromStr>(text: &str, column: &str) -> Result<T, StoreError> {
    text.parse()
        .map_err(|_| StoreError::Backend(format!("unreadable value in column {column}")))
}

pub(crate) fn parse_alg(text: &str) -> Result<SigningAlgorithm, StoreError> {
    parse(text, "alg")
}

pub(crate) fn parse_key_state(text: &str) -> Result<KeyState, StoreError> {
    KeyState::parse(text).ok_or_else(|| StoreError::Backend("unreadable key state".into()))
}

pub(crate) fn to_json_list(items: &[String]) -> Result<String, StoreError> {
    serde_json::to_string(items).map_err(|e| StoreError::Backend(e.to_string()))
}

pub(crate) fn from_json_list(text: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Backend(format!("unreadable list: {e}")))
}

pub(crate) fn to_u32(value: i64) -> u32 {
    u32::try_from(value.max(0)).unwrap_or(u32::MAX)
}
