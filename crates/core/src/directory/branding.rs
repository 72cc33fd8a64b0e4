//! A tenant's look on the hosted pages: logo, colours, extra CSS and overrides of page texts.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The largest logo accepted.
pub const MAX_LOGO_BYTES: usize = 256 * 1024;
/// The largest custom style sheet accepted.
pub const MAX_CSS_BYTES: usize = 32 * 1024;

/// A tenant's branding (every part optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Branding {
    /// Buttons and focus colour, `#rrggbb`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_color: Option<String>,
    /// Page background colour, `#rrggbb`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background_color: Option<String>,
    /// Extra CSS appended after Portico's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_css: Option<String>,
    /// Page texts that replace the built-in ones, by message key (all languages).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub texts: BTreeMap<String, String>,
    /// The logo's media type, when there is a logo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo_type: Option<String>,
    /// The logo (stored beside the settings, not in the JSON).
    #[serde(skip)]
    pub logo: Option<Vec<u8>>,
}

fn is_hex_color(text: &str) -> bool {
    text.len() == 7 && text.starts_with('#') && text.bytes().skip(1).all(|b| b.is_ascii_hexdigit())
}

/// The media type of a PNG, JPEG or WebP image, from its first bytes. SVG is refused: it can
/// carry scripts.
pub fn sniff_image(bytes: &[u8]) -> Option<&'static str> {
    match bytes {
        [0x89, b'P', b'N', b'G', ..] => Some("image/png"),
        [0xFF, 0xD8, 0xFF, ..] => Some("image/jpeg"),
        [
            b'R',
            b'I',
            b'F',
            b'F',
            _,
            _,
            _,
            _,
            b'W',
            b'E',
            b'B',
            b'P',
            ..,
        ] => Some("image/webp"),
        _ => None,
    }
}

impl Branding {
    /// Checks every part; `known_text` tells which message keys exist.
    pub fn validate(&self, known_text: impl Fn(&str) -> bool) -> Result<(), String> {
        for (name, color) in [
            ("primary colour", &self.primary_color),
            ("background colour", &self.background_color),
        ] {
            if let Some(color) = color
                && !is_hex_color(color)
            {
                return Err(format!("{name} {color:?} must be #rrggbb"));
            }
        }
        if let Some(css) = &self.custom_css {
            if css.len() > MAX_CSS_BYTES {
                return Err(format!("custom CSS is larger than {MAX_CSS_BYTES} bytes"));
            }
            // It is placed inside a <style> element: no markup, no way out of it.
            if css.contains('<') {
                return Err("custom CSS must not contain '<'".into());
            }
        }
        for (key, value) in &self.texts {
            if !known_text(key) {
                return Err(format!("{key:?} is not a page text key"));
            }
            if value.trim().is_empty() || value.chars().count() > 500 {
                return Err(format!("text {key:?} must be 1-500 characters"));
            }
        }
        if let Some(logo) = &self.logo {
            if logo.len() > MAX_LOGO_BYTES {
                return Err(format!("the logo is larger than {MAX_LOGO_BYTES} bytes"));
            }
            if sniff_image(logo).is_none() {
                return Err("the logo must be a PNG, JPEG or WebP image".into());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branding_is_validated() {
        let known = |k: &str| k == "signin-title";
        let ok = Branding {
            primary_color: Some("#12abEF".into()),
            custom_css: Some("main { border-radius: 0 }".into()),
            texts: [("signin-title".to_owned(), "Welcome".to_owned())].into(),
            logo: Some(vec![0x89, b'P', b'N', b'G', 1, 2]),
            ..Branding::default()
        };
        assert!(ok.validate(known).is_ok());
        for bad in [
            Branding {
                primary_color: Some("red".into()),
                ..Branding::default()
            },
            Branding {
                background_color: Some("#12345".into()),
                ..Branding::default()
            },
            Branding {
                custom_css: Some("</style><script>".into()),
                ..Branding::default()
            },
            Branding {
                texts: [("nope".to_owned(), "x".to_owned())].into(),
                ..Branding::default()
            },
            Branding {
                logo: Some(b"<svg onload=alert(1)>".to_vec()),
                ..Branding::default()
            },
        ] {
            assert!(bad.validate(known).is_err(), "{bad:?}");
        }
    }
}
