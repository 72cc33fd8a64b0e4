//! Phone numbers and masked contact labels.

/// Normalises a phone number to E.164 (`+` and 8 to 15 digits), accepting the spaces, dots,
/// dashes and brackets people type. Numbers without a country code are refused: codes go to
/// numbers in international form only.
pub fn normalize_phone(input: &str) -> Option<String> {
    let trimmed = input.trim();
    let rest = trimmed.strip_prefix('+')?;
    let mut digits = String::with_capacity(16);
    for c in rest.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '.' | '(' | ')' => {}
            _ => return None,
        }
    }
    let valid = (8..=15).contains(&digits.len()) && !digits.starts_with('0');
    valid.then(|| format!("+{digits}"))
}

/// Masks an email address for display: first and last character of the local part and of the
/// domain's first label, the rest starred (`j***e@ex*****.com`).
pub fn mask_email(email: &str) -> String {
    let Some((local, domain)) = email.split_once('@') else {
        return mask_middle(email);
    };
    let (label, rest) = match domain.split_once('.') {
        Some((label, rest)) => (label, format!(".{rest}")),
        None => (domain, String::new()),
    };
    format!("{}@{}{}", mask_middle(local), mask_middle(label), rest)
}

/// Masks a phone number, keeping the last four digits (`+*******4567`).
pub fn mask_phone(phone: &str) -> String {
    let count = phone.chars().count();
    phone
        .chars()
        .enumerate()
        .map(|(i, c)| if i == 0 || i + 4 >= count { c } else { '*' })
        .collect()
}

fn mask_middle(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    match chars.as_slice() {
        [] => String::new(),
        [only] => format!("{only}*"),
        [first, middle @ .., last] => {
            let stars = "*".repeat(middle.len().max(1));
            format!("{first}{stars}{last}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_normalise_to_e164() {
        assert_eq!(
            normalize_phone(" +1 (555) 123-4567 ").as_deref(),
            Some("+15551234567")
        );
        assert_eq!(
            normalize_phone("+48.601.234.567").as_deref(),
            Some("+48601234567")
        );
        for bad in [
            "5551234567",
            "+1",
            "+0123456789",
            "+1555abc4567",
            "+1234567890123456",
            "",
        ] {
            assert_eq!(normalize_phone(bad), None, "{bad}");
        }
    }

    #[test]
    fn labels_hide_most_of_the_contact() {
        assert_eq!(mask_email("jane@example.com"), "j**e@e*****e.com");
        assert_eq!(mask_email("a@b.c"), "a*@b*.c");
        assert_eq!(mask_phone("+15551234567"), "+*******4567");
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Normalised numbers are stable and always E.164-shaped; masks never reveal more than
        /// the first character and last four digits of a number.
        #[test]
        fn phone_normalisation_is_idempotent(input in "[+0-9 ().a-z-]{0,24}") {
            if let Some(phone) = normalize_phone(&input) {
                prop_assert_eq!(normalize_phone(&phone), Some(phone.clone()));
                prop_assert!(phone.len() >= 9 && phone.len() <= 16);
                let masked = mask_phone(&phone);
                prop_assert_eq!(masked.chars().count(), phone.chars().count());
                prop_assert_eq!(&masked[masked.len() - 4..], &phone[phone.len() - 4..]);
            }
        }

        #[test]
        fn email_masks_keep_the_shape(local in "[a-z0-9]{1,20}", domain in "[a-z]{1,20}") {
            let masked = mask_email(&format!("{local}@{domain}.com"));
            prop_assert!(masked.ends_with(".com"));
            prop_assert!(masked.contains('@'));
        }
    }
}
