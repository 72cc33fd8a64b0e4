//! Answers from custom authentication extensions (a company's own service): any body, for
//! any event, is read or refused with Entra's error number, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portico_core::extensions::{ExtensionEvent, parse_answer};

fuzz_target!(|data: &[u8]| {
    let Some((first, body)) = data.split_first() else { return };
    let event = ExtensionEvent::ALL[usize::from(*first) % ExtensionEvent::ALL.len()];
    let _ = parse_answer(event, 200, Some("application/json"), body, Some("nonce"));
});
