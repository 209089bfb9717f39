//! What counts as an acceptable email address and password.

use std::fmt;

pub const PASSWORD_MIN_CHARS: usize = 8;
/// Long enough for any passphrase or password manager, short enough that nobody makes us hash
/// megabytes.
pub const PASSWORD_MAX_CHARS: usize = 128;
/// Counted as sent (before trimming and lower-casing), as the OpenAPI document's maxLength says.
pub const EMAIL_MAX_CHARS: usize = 254;
/// The part before the last `@`, counted before lower-casing (which lengthens a few letters).
pub const EMAIL_LOCAL_MAX_CHARS: usize = 64;

/// An email address in the form it is stored and compared in: trimmed and lower-cased, so that
/// `Ada@Example.com` and `ada@example.com ` are one account.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let invalid = || format!("email `{}` is not a valid email address", raw.trim());
        if raw.chars().count() > EMAIL_MAX_CHARS {
            return Err(format!("email must be at most {EMAIL_MAX_CHARS} characters"));
        }
        let local_chars = raw.trim().rsplit_once('@').map_or(0, |(local, _)| local.chars().count());
        let email = raw.trim().to_lowercase();
        let (local, domain) = email.rsplit_once('@').ok_or_else(invalid)?;
        let well_formed = !local.is_empty()
            && local_chars <= EMAIL_LOCAL_MAX_CHARS
            && domain.contains('.')
            && !domain.starts_with(['.', '-'])
            && !domain.ends_with(['.', '-'])
            && !domain.contains("..")
            && !domain.contains('@')
            && !email.chars().any(|c| c.is_whitespace() || c.is_control());
        if well_formed { Ok(Self(email)) } else { Err(invalid()) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A new password that meets the length policy. Existing passwords are never re-checked
/// against it: a policy change must not lock anyone out.
pub struct NewPassword(String);

impl NewPassword {
    pub fn parse(raw: String) -> Result<Self, String> {
        let chars = raw.chars().count();
        if chars < PASSWORD_MIN_CHARS {
            Err(format!("password must be at least {PASSWORD_MIN_CHARS} characters"))
        } else if chars > PASSWORD_MAX_CHARS {
            Err(format!("password must be at most {PASSWORD_MAX_CHARS} characters"))
        } else {
            Ok(Self(raw))
        }
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(Email::parse("  Ada.Lovelace@Example.COM ").unwrap().as_str(), "ada.lovelace@example.com");
    }

    #[test]
    fn malformed_emails_are_refused() {
        for bad in [
            "",
            "ada",
            "@example.com",
            "ada@",
            "ada@localhost",
            "ada@.example.com",
            "ada@example..com",
            "ada lovelace@example.com",
            "ada@exa\u{0}mple.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} was accepted");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(Email::parse(&long).unwrap_err().contains("at most 254"));
        // Counted as sent: surrounding spaces count, lower-casing's longer letters do not.
        assert!(Email::parse(&format!("{} ", "a".repeat(242) + "@example.com")).is_err());
        assert!(Email::parse(&format!("{}@example.com", "\u{130}".repeat(64))).is_ok());
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(65))).is_err());
    }

    #[test]
    fn password_length_is_counted_in_characters() {
        assert!(NewPassword::parse("seven77".into()).is_err());
        assert!(NewPassword::parse("eight888".into()).is_ok());
        // Eight characters, sixteen bytes.
        assert!(NewPassword::parse("ééééééé1".into()).is_ok());
        assert!(NewPassword::parse("x".repeat(129)).is_err());
    }
}
