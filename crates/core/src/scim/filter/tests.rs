use proptest::prelude::*;

use super::*;

fn cmp(name: &str, op: CompareOp, value: CompValue) -> Filter {
    Filter::Compare(AttrPath::parse(name).unwrap(), op, value)
}

fn s(text: &str) -> CompValue {
    CompValue::Str(text.into())
}

#[test]
fn the_rfcs_examples_parse() {
    for text in [
        r#"userName Eq "john""#,
        r#"name.familyName co "O'Malley""#,
        r#"userName sw "J""#,
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
        "title pr",
        r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
        r#"title pr and userType eq "Employee""#,
        r#"title pr or userType eq "Intern""#,
        r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
        r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
        r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
        r#"userType eq "Employee" and (emails.type eq "work")"#,
        r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
        r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
    ] {
        let parsed = parse_filter(text).expect(text);
        assert_eq!(parse_filter(&parsed.to_string()).unwrap(), parsed, "{text}");
    }
}

#[test]
fn precedence_is_not_then_and_then_or() {
    let parsed = parse_filter(r#"a eq 1 or b eq 2 and not (c pr)"#).unwrap();
    let one = serde_json::Number::from(1);
    let two = serde_json::Number::from(2);
    assert_eq!(
        parsed,
        Filter::Or(
            Box::new(cmp("a", CompareOp::Eq, CompValue::Number(one))),
            Box::new(Filter::And(
                Box::new(cmp("b", CompareOp::Eq, CompValue::Number(two))),
                Box::new(Filter::Not(Box::new(Filter::Present(AttrPath::named("c"))))),
            )),
        )
    );
}

#[test]
fn schema_urns_and_sub_attributes_split() {
    let path =
        AttrPath::parse("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value")
            .unwrap();
    assert_eq!(
        path.schema.as_deref(),
        Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
    );
    assert_eq!(path.name, "manager");
    assert_eq!(path.sub.as_deref(), Some("value"));
    assert_eq!(AttrPath::parse("$ref").unwrap().name, "$ref");
}

#[test]
fn a_sub_attribute_after_a_value_filter_joins_the_element_filter() {
    let parsed = parse_filter(r#"emails[type eq "work"].value eq "a@b.example""#).unwrap();
    assert_eq!(
        parsed,
        Filter::Has(
            AttrPath::named("emails"),
            Box::new(Filter::And(
                Box::new(cmp("type", CompareOp::Eq, s("work"))),
                Box::new(cmp("value", CompareOp::Eq, s("a@b.example"))),
            )),
        )
    );
}

#[test]
fn literals_are_json() {
    assert_eq!(
        parse_filter(r#"a eq "quote \" and \u00e9""#).unwrap(),
        cmp("a", CompareOp::Eq, s("quote \" and é"))
    );
    assert_eq!(
        parse_filter("a eq TRUE").unwrap(),
        cmp("a", CompareOp::Eq, CompValue::Bool(true))
    );
    assert_eq!(
        parse_filter("a eq null").unwrap(),
        cmp("a", CompareOp::Eq, CompValue::Null)
    );
    assert!(matches!(
        parse_filter("a gt -1.5e3").unwrap(),
        Filter::Compare(_, CompareOp::Gt, CompValue::Number(_))
    ));
}

#[test]
fn junk_is_refused_with_a_reason() {
    for bad in [
        "",
        "userName",
        "userName eq",
        r#"userName eq "open"#,
        r#"userName xx "a""#,
        r#"userName eq 'single'"#,
        r#"eq "a""#,
        r#"(userName eq "a""#,
        r#"userName eq "a")"#,
        r#"userName eq "a" and"#,
        r#"not userName eq "a""#,
        r#"emails[type eq "work""#,
        r#"emails[types[value eq "x"]]"#,
        r#"emails.value[type eq "x"]"#,
        r#"1abc eq "a""#,
        r#"a.b.c eq "a""#,
        r#"urn:x eq "a""#,
        r#"a eq "b" ; drop table users"#,
        r#"a eq unquoted"#,
        "a eq \"\\x\"",
    ] {
        assert!(parse_filter(bad).is_err(), "{bad:?} parsed");
    }
}

#[test]
fn size_and_nesting_are_bounded() {
    let deep = format!("{}a pr{}", "(".repeat(40), ")".repeat(40));
    assert!(parse_filter(&deep).unwrap_err().0.contains("deeper"));
    let wide = vec!["a pr"; 100].join(" or ");
    assert!(parse_filter(&wide).unwrap_err().0.contains("comparisons"));
    let long = format!(r#"a eq "{}""#, "x".repeat(MAX_FILTER_LEN));
    assert!(parse_filter(&long).unwrap_err().0.contains("longer"));
}

#[test]
fn patch_paths_take_filters_and_sub_attributes() {
    let path = parse_patch_path(r#"members[value eq "2819c223"]"#).unwrap();
    assert_eq!(path.attr.name, "members");
    assert_eq!(
        path.filter,
        Some(cmp("value", CompareOp::Eq, s("2819c223")))
    );
    let path = parse_patch_path(r#"emails[type eq "work"].value"#).unwrap();
    assert_eq!(path.sub.as_deref(), Some("value"));
    let path = parse_patch_path("name.givenName").unwrap();
    assert_eq!(path.attr.sub.as_deref(), Some("givenName"));
    for bad in [
        "",
        "[a pr]",
        "a[b pr",
        "a[b pr] x",
        "a.b[c pr]",
        "a[b pr].",
        "a b",
    ] {
        assert!(parse_patch_path(bad).is_err(), "{bad:?} parsed");
    }
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("userName".to_owned()),
        Just("emails".to_owned()),
        Just("$ref".to_owned()),
        "[a-zA-Z][a-zA-Z0-9_-]{0,8}"
            .prop_filter("`not` opens a negation", |n| !n.eq_ignore_ascii_case("not")),
    ]
}

fn path() -> impl Strategy<Value = AttrPath> {
    (
        proptest::option::of(Just(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".to_owned(),
        )),
        name(),
        proptest::option::of(name()),
    )
        .prop_map(|(schema, name, sub)| AttrPath { schema, name, sub })
}

fn value() -> impl Strategy<Value = CompValue> {
    prop_oneof![
        Just(CompValue::Null),
        any::<bool>().prop_map(CompValue::Bool),
        any::<i64>().prop_map(|n| CompValue::Number(n.into())),
        any::<String>().prop_map(CompValue::Str),
    ]
}

fn op() -> impl Strategy<Value = CompareOp> {
    prop_oneof![
        Just(CompareOp::Eq),
        Just(CompareOp::Ne),
        Just(CompareOp::Co),
        Just(CompareOp::Sw),
        Just(CompareOp::Ew),
        Just(CompareOp::Gt),
        Just(CompareOp::Ge),
        Just(CompareOp::Lt),
        Just(CompareOp::Le),
    ]
}

fn leaf() -> impl Strategy<Value = Filter> {
    prop_oneof![
        path().prop_map(Filter::Present),
        (path(), op(), value()).prop_map(|(p, o, v)| Filter::Compare(p, o, v)),
    ]
}

fn element_filter() -> impl Strategy<Value = Filter> {
    leaf().prop_recursive(3, 8, 2, |inner| {
        prop_oneof![
            inner.clone().prop_map(|f| Filter::Not(Box::new(f))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner).prop_map(|(a, b)| Filter::Or(Box::new(a), Box::new(b))),
        ]
    })
}

/// Random filters within the parser's limits.
pub(crate) fn filter() -> impl Strategy<Value = Filter> {
    let has = (path(), element_filter()).prop_map(|(mut p, f)| {
        p.sub = None;
        Filter::Has(p, Box::new(f))
    });
    prop_oneof![leaf(), has].prop_recursive(3, 12, 2, |inner| {
        prop_oneof![
            inner.clone().prop_map(|f| Filter::Not(Box::new(f))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner).prop_map(|(a, b)| Filter::Or(Box::new(a), Box::new(b))),
        ]
    })
}

fn within_limits(e: &FilterError) -> bool {
    ["longer", "comparisons", "deeper"]
        .iter()
        .any(|w| e.0.contains(w))
}

fn strings(f: &Filter) -> Vec<String> {
    match f {
        Filter::Compare(_, _, CompValue::Str(s)) => vec![s.clone()],
        Filter::Present(_) | Filter::Compare(..) => Vec::new(),
        Filter::Not(inner) | Filter::Has(_, inner) => strings(inner),
        Filter::And(a, b) | Filter::Or(a, b) => [strings(a), strings(b)].concat(),
    }
}

proptest! {
    /// Whatever the parser builds, its canonical text parses back to the same tree.
    #[test]
    fn canonical_text_parses_back(f in filter()) {
        let text = f.to_string();
        match parse_filter(&text) {
            Err(e) if within_limits(&e) => prop_assume!(false),
            parsed => prop_assert_eq!(parsed.unwrap(), f),
        }
    }

    /// Any input gives a tree or an error, never a panic.
    #[test]
    fn any_text_parses_or_is_refused(text in "[ -~]{0,200}") {
        if let Ok(f) = parse_filter(&text) {
            prop_assert_eq!(parse_filter(&f.to_string()).unwrap(), f);
        }
        let _ = parse_patch_path(&text);
    }

    /// Keywords and operators are case-insensitive.
    #[test]
    fn keywords_ignore_case(f in filter()) {
        let text = f.to_string();
        prop_assume!(parse_filter(&text).is_ok());
        // Spaces only outside strings, so the replacements below touch only keywords.
        prop_assume!(!strings(&f).iter().any(|s| s.contains(' ')));
        let shouted = text
            .replace(" and ", " AND ")
            .replace(" or ", " Or ")
            .replace("not (", "NOT (")
            .replace(" pr", " PR")
            .replace(" eq ", " EQ ");
        prop_assert_eq!(parse_filter(&shouted).unwrap(), f);
    }
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i32>().prop_map(serde_json::Value::from),
        "[a-zA-Z0-9@. ]{0,12}".prop_map(serde_json::Value::from),
        Just(serde_json::Value::from("False")),
        Just(serde_json::Value::from("someone@example.com")),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            proptest::collection::btree_map(
                prop_oneof![
                    Just("value".to_owned()),
                    Just("type".to_owned()),
                    Just("primary".to_owned()),
                    Just("givenName".to_owned()),
                    Just("name.familyName".to_owned()),
                    Just("userName".to_owned()),
                    Just("schemas".to_owned()),
                    "[a-zA-Z]{1,6}",
                ],
                inner,
                0..4
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

fn patch_path() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("emails".to_owned()),
        Just(r#"emails[type eq "work"].value"#.to_owned()),
        Just(r#"emails[value co "x" or not (primary pr)]"#.to_owned()),
        Just("name.givenName".to_owned()),
        Just("name".to_owned()),
        Just("active".to_owned()),
        Just("userName".to_owned()),
        Just("groups".to_owned()),
        Just("id".to_owned()),
        Just("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".to_owned()),
        Just("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager".to_owned()),
        Just("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value".to_owned()),
        Just("urn:portico:params:scim:schemas:extension:custom:2.0:User".to_owned()),
        "[ -~]{0,24}",
    ]
}

proptest! {
    /// Any PATCH body, however odd, ends in a changed document or a SCIM problem, never a
    /// panic (the same property the `scim_filter` fuzz target checks).
    #[test]
    fn any_patch_body_is_applied_or_refused(
        ops in proptest::collection::vec(
            (
                prop_oneof![Just("add"), Just("Replace"), Just("remove"), Just("move")],
                proptest::option::of(patch_path()),
                json_value(),
            ),
            1..5,
        )
    ) {
        let operations: Vec<serde_json::Value> = ops
            .into_iter()
            .map(|(op, path, value)| serde_json::json!({"op": op, "path": path, "value": value}))
            .collect();
        let body = serde_json::json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": operations,
        });
        let _ = crate::scim::patch_user_document(&body);
    }
}
