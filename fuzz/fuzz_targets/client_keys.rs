//! Registered client keys (JWK or JWK Set JSON from the admin API and the CLI) and API
//! definitions: never a panic, and no accepted key that allows HMAC.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(keys) = portico_core::directory::parse_client_keys(text) {
        for key in &keys {
            let algs = portico_core::directory::allowed_algorithms(key);
            assert!(!algs.is_empty());
            assert!(algs.iter().all(|a| !format!("{a:?}").starts_with("HS")));
        }
    }
    let (name, consent) = text.split_at(text.len() / 2);
    let api = portico_core::directory::ExposedApi {
        scopes: vec![portico_core::directory::ApiScope::new(name, Some(consent))],
        roles: Vec::new(),
        token_exchange: Vec::new(),
    };
    if let Ok(api) = api.checked() {
        assert!(!api.scopes[0].name.starts_with('.'));
    }
    let _ = text.parse::<portico_core::directory::RoleMembers>();
    let _ = text.parse::<portico_core::directory::ExchangeRule>();
    let _ = portico_core::directory::certificate_key(text);
    let _ = text.parse::<portico_core::directory::ScopeConsent>();
});
