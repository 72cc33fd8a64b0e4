//! Scope strings, email addresses, tenant references, PKCE values and device user codes from
//! the network.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(scope) = portico_core::oauth::Scope::parse(text) {
        assert_eq!(portico_core::oauth::Scope::parse(&scope.to_wire()).ok(), Some(scope));
    }
    let _ = portico_core::directory::Email::parse(text);
    let _ = portico_core::directory::TenantRef::parse(text);
    if let Some(code) = portico_core::oauth::normalize_user_code(text) {
        let shown = portico_core::oauth::display_user_code(&code);
        assert_eq!(portico_core::oauth::normalize_user_code(&shown), Some(code));
    }
    let (a, b) = text.split_at(text.len() / 2);
    let _ = portico_core::oauth::verify_s256(a, b);
});
