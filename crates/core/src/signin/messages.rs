//! The mail and text messages the engine sends, composed from localized texts the front door
//! supplies (it knows the person's language; the catalogs live with the pages).

use crate::otp::OtpPurpose;
use crate::outbox::{Channel, OutboundMessage};

use super::engine::MessageKind;

/// Localized message texts in one person's language. Keys and arguments:
/// `mail-code-subject-{purpose}`, `mail-code-body` (`code`, `minutes`, `organisation`),
/// `mail-account-exists-subject`, `mail-account-exists-body` (`organisation`),
/// `mail-no-account-subject`, `mail-no-account-body` (`organisation`), `sms-code`
/// (`code`, `organisation`), `mail-footer`.
pub trait MessageTexts: Send + Sync {
    /// The text for `key`, with `{ $name }` placeables filled from `args`.
    fn text(&self, key: &str, args: &[(&str, &str)]) -> String;
}

/// English texts without a catalog (for callers outside a request, and tests).
#[derive(Debug, Clone, Copy, Default)]
pub struct PlainTexts;

impl MessageTexts for PlainTexts {
    fn text(&self, key: &str, args: &[(&str, &str)]) -> String {
        let arg = |name: &str| {
            args.iter()
                .find(|(k, _)| *k == name)
                .map_or("", |(_, v)| *v)
                .to_owned()
        };
        match key {
            "mail-code-body" | "sms-code" => format!("Your code: {}", arg("code")),
            _ => key.to_owned(),
        }
    }
}

/// A message about a code: the code itself, or (for [`MessageKind::AccountExists`] and
/// [`MessageKind::NoAccount`]) the notice that replaces it.
#[derive(Debug, Clone, Copy)]
pub struct CodeMessage<'a> {
    /// The tenant's name, as the sender.
    pub organisation: &'a str,
    /// What the code is for.
    pub purpose: OtpPurpose,
    /// Mail or SMS.
    pub channel: Channel,
    /// Address or number.
    pub to: &'a str,
    /// Code or notice.
    pub kind: MessageKind,
    /// How long the code lasts.
    pub lifetime_secs: i64,
}

/// Composes `message` in the person's language with `code` filled in.
pub fn compose(texts: &dyn MessageTexts, message: CodeMessage<'_>, code: &str) -> OutboundMessage {
    let CodeMessage {
        organisation,
        purpose,
        channel,
        to,
        kind,
        lifetime_secs,
    } = message;
    let minutes = (lifetime_secs / 60).to_string();
    let org = ("organisation", organisation);
    if channel == Channel::Sms {
        return OutboundMessage {
            channel,
            to: to.to_owned(),
            subject: String::new(),
            text: texts.text("sms-code", &[("code", code), org]),
            html: None,
        };
    }
    let (subject, body) = match kind {
        MessageKind::Code => (
            texts.text(&format!("mail-code-subject-{}", purpose.as_str()), &[org]),
            texts.text(
                "mail-code-body",
                &[("code", code), ("minutes", &minutes), org],
            ),
        ),
        MessageKind::AccountExists => (
            texts.text("mail-account-exists-subject", &[org]),
            texts.text("mail-account-exists-body", &[org]),
        ),
        MessageKind::NoAccount => (
            texts.text("mail-no-account-subject", &[org]),
            texts.text("mail-no-account-body", &[org]),
        ),
    };
    let footer = texts.text("mail-footer", &[org]);
    let text = format!("{body}\n\n{footer}\n");
    let html = format!(
        "<!doctype html><html><body style=\"font-family:system-ui,sans-serif;line-height:1.5\">{}{}<p style=\"color:#5f6368\">{}</p></body></html>",
        body.lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| format!("<p>{}</p>", escape_html(line)))
            .collect::<String>(),
        if kind == MessageKind::Code {
            format!(
                "<p style=\"font-size:28px;font-weight:700;letter-spacing:4px\">{}</p>",
                escape_html(code)
            )
        } else {
            String::new()
        },
        escape_html(&footer),
    );
    OutboundMessage {
        channel,
        to: to.to_owned(),
        subject,
        text,
        html: Some(html),
    }
}

fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_never_carry_the_code() {
        let letter = |kind| CodeMessage {
            organisation: "Contoso <b>",
            purpose: OtpPurpose::SignUp,
            channel: Channel::Mail,
            to: "a@b.c",
            kind,
            lifetime_secs: 600,
        };
        for kind in [MessageKind::AccountExists, MessageKind::NoAccount] {
            let message = compose(&PlainTexts, letter(kind), "12345678");
            assert!(!message.text.contains("12345678"));
            assert!(!message.html.unwrap_or_default().contains("12345678"));
        }
        let code = compose(&PlainTexts, letter(MessageKind::Code), "12345678");
        assert!(code.text.contains("12345678"));
    }
}
