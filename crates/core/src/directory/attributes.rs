//! Checking the attribute values a person submits at sign-up against the flow's specs.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{AttributeSpec, AttributeType, InputKind};

/// Longest accepted text value.
pub const MAX_ATTRIBUTE_LEN: usize = 256;

/// Why one attribute value was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AttributeReason {
    /// Required but missing.
    Required,
    /// Not of the attribute's type (a number, a yes/no).
    WrongType,
    /// Does not match the attribute's pattern.
    Pattern,
    /// Not one of the offered options.
    NotAnOption,
    /// Longer than 256 characters.
    TooLong,
}

/// One refused attribute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttributeError {
    /// Attribute name.
    pub name: String,
    /// Why.
    pub reason: AttributeReason,
}

/// Checks submitted values (multi-select values comma-joined, Entra's wire format) against the
/// specs and returns the typed values. Names the flow does not collect are ignored, as Entra
/// does; optional attributes left empty are left out.
pub fn check_attributes(
    specs: &[AttributeSpec],
    submitted: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, serde_json::Value>, Vec<AttributeError>> {
    let mut values = BTreeMap::new();
    let mut errors = Vec::new();
    for spec in specs {
        let raw = submitted.get(&spec.name).map_or("", |v| v.trim());
        match check_one(spec, raw) {
            Ok(Some(value)) => {
                values.insert(spec.name.clone(), value);
            }
            Ok(None) => {}
            Err(reason) => errors.push(AttributeError {
                name: spec.name.clone(),
                reason,
            }),
        }
    }
    if errors.is_empty() {
        Ok(values)
    } else {
        Err(errors)
    }
}

/// The required attributes that `values` lacks.
pub fn missing_required<'a>(
    specs: &'a [AttributeSpec],
    values: &'a BTreeMap<String, serde_json::Value>,
) -> impl Iterator<Item = &'a AttributeSpec> {
    specs
        .iter()
        .filter(|s| s.required && !values.contains_key(&s.name))
}

fn check_one(
    spec: &AttributeSpec,
    raw: &str,
) -> Result<Option<serde_json::Value>, AttributeReason> {
    if spec.value_type == AttributeType::Bool {
        let value = match raw.to_ascii_lowercase().as_str() {
            "true" | "on" | "1" | "yes" => true,
            "false" | "off" | "0" | "no" | "" => false,
            _ => return Err(AttributeReason::WrongType),
        };
        // A required checkbox is a consent: it must be ticked.
        if spec.required && !value {
            return Err(AttributeReason::Required);
        }
        return Ok(Some(serde_json::Value::Bool(value)));
    }
    if raw.is_empty() {
        return if spec.required {
            Err(AttributeReason::Required)
        } else {
            Ok(None)
        };
    }
    if raw.chars().count() > MAX_ATTRIBUTE_LEN {
        return Err(AttributeReason::TooLong);
    }
    match (spec.value_type, spec.input) {
        (AttributeType::Int, _) => raw
            .parse::<i64>()
            .map(|n| Some(serde_json::Value::from(n)))
            .map_err(|_| AttributeReason::WrongType),
        (_, InputKind::RadioSingleSelect) => {
            if spec.options.iter().any(|o| o == raw) {
                Ok(Some(serde_json::Value::from(raw)))
            } else {
                Err(AttributeReason::NotAnOption)
            }
        }
        (_, InputKind::CheckboxMultiSelect) => {
            let chosen: Vec<&str> = raw
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect();
            if chosen.iter().all(|c| spec.options.iter().any(|o| o == c)) {
                Ok(Some(serde_json::Value::from(chosen.join(","))))
            } else {
                Err(AttributeReason::NotAnOption)
            }
        }
        _ => {
            if let Some(pattern) = &spec.regex {
                // The whole value must match, whatever anchors the operator wrote.
                let anchored = format!("^(?:{pattern})$");
                let matches = regex::Regex::new(&anchored).is_ok_and(|re| re.is_match(raw));
                if !matches {
                    return Err(AttributeReason::Pattern);
                }
            }
            Ok(Some(serde_json::Value::from(raw)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> AttributeSpec {
        AttributeSpec::parse_cli(text).unwrap()
    }

    fn submit(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn typed_values_come_back() {
        let specs = vec![
            spec("displayName:required"),
            spec("loyaltyNumber:int"),
            spec("newsletter:bool"),
            spec("city"),
        ];
        let values = check_attributes(
            &specs,
            &submit(&[
                ("displayName", " Ada "),
                ("loyaltyNumber", "42"),
                ("newsletter", "on"),
                ("unknown", "x"),
            ]),
        )
        .unwrap();
        assert_eq!(values["displayName"], "Ada");
        assert_eq!(values["loyaltyNumber"], 42);
        assert_eq!(values["newsletter"], true);
        assert!(!values.contains_key("city") && !values.contains_key("unknown"));
    }

    #[test]
    fn each_refusal_names_its_attribute() {
        let mut pattern = spec("code");
        pattern.regex = Some("[A-Z]{3}".into());
        let mut radio = spec("size");
        radio.input = InputKind::RadioSingleSelect;
        radio.options = vec!["S".into(), "M".into()];
        let mut multi = spec("hobbies");
        multi.input = InputKind::CheckboxMultiSelect;
        multi.options = vec!["Dancing".into(), "Swimming".into()];
        let specs = vec![
            spec("displayName:required"),
            spec("age:int"),
            pattern,
            radio,
            multi,
            spec("terms:bool:required"),
        ];
        let errors = check_attributes(
            &specs,
            &submit(&[
                ("age", "old"),
                ("code", "ABCD"),
                ("size", "XL"),
                ("hobbies", "Dancing,Golf"),
            ]),
        )
        .unwrap_err();
        let reasons: Vec<(&str, AttributeReason)> =
            errors.iter().map(|e| (e.name.as_str(), e.reason)).collect();
        assert_eq!(
            reasons,
            vec![
                ("displayName", AttributeReason::Required),
                ("age", AttributeReason::WrongType),
                ("code", AttributeReason::Pattern),
                ("size", AttributeReason::NotAnOption),
                ("hobbies", AttributeReason::NotAnOption),
                ("terms", AttributeReason::Required),
            ]
        );
    }

    #[test]
    fn multi_select_keeps_entras_comma_format() {
        let mut multi = spec("hobbies");
        multi.input = InputKind::CheckboxMultiSelect;
        multi.options = vec!["Dancing".into(), "Swimming".into()];
        let values =
            check_attributes(&[multi], &submit(&[("hobbies", "Dancing, Swimming")])).unwrap();
        assert_eq!(values["hobbies"], "Dancing,Swimming");
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        fn specs() -> Vec<AttributeSpec> {
            let mut code = spec("memberCode:required");
            code.regex = Some("[A-Z]{2}[0-9]+".into());
            let mut radio = spec("tier");
            radio.input = InputKind::RadioSingleSelect;
            radio.options = vec!["gold".into(), "silver".into()];
            let mut multi = spec("hobbies");
            multi.input = InputKind::CheckboxMultiSelect;
            multi.options = vec!["a".into(), "b".into()];
            vec![
                code,
                spec("age:int:required"),
                spec("terms:bool:required"),
                spec("newsletter:bool"),
                radio,
                multi,
                spec("city"),
            ]
        }

        fn value() -> impl Strategy<Value = String> {
            prop_oneof![
                Just(String::new()),
                Just("true".to_owned()),
                Just("AB12".to_owned()),
                Just("a, b".to_owned()),
                Just("gold".to_owned()),
                "-?[0-9]{1,20}",
                "\\PC{0,300}",
                ".{0,3}",
            ]
        }

        proptest! {
            /// Whatever is submitted, the answer is typed values for exactly the attributes
            /// the flow collects, or errors that each name one of them; never a panic.
            #[test]
            fn answers_are_about_the_flows_attributes(
                submitted in proptest::collection::btree_map(
                    prop_oneof![
                        Just("memberCode".to_owned()), Just("age".to_owned()),
                        Just("terms".to_owned()), Just("newsletter".to_owned()),
                        Just("tier".to_owned()), Just("hobbies".to_owned()),
                        Just("city".to_owned()), "[a-z]{1,8}",
                    ],
                    value(),
                    0..10,
                )
            ) {
                let specs = specs();
                match check_attributes(&specs, &submitted) {
                    Ok(values) => {
                        for (name, value) in &values {
                            let spec = specs.iter().find(|s| &s.name == name);
                            prop_assert!(spec.is_some(), "unknown {name}");
                            match spec.map(|s| s.value_type) {
                                Some(AttributeType::Int) => prop_assert!(value.is_i64()),
                                Some(AttributeType::Bool) => prop_assert!(value.is_boolean()),
                                _ => {
                                    let fits = value.as_str().is_some_and(|v| {
                                        !v.is_empty() && v.chars().count() <= MAX_ATTRIBUTE_LEN
                                    });
                                    prop_assert!(fits, "{name}: {value}");
                                }
                            }
                        }
                        for spec in specs.iter().filter(|s| s.required) {
                            prop_assert!(values.contains_key(&spec.name), "{}", spec.name);
                        }
                        prop_assert_eq!(&values["terms"], &serde_json::Value::Bool(true));
                    }
                    Err(errors) => {
                        prop_assert!(!errors.is_empty());
                        for error in &errors {
                            prop_assert!(specs.iter().any(|s| s.name == error.name));
                        }
                    }
                }
            }
        }
    }
}
