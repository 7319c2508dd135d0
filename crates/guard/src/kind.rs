//! What the guard finds: the kinds of sensitive content and the shape of a finding.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A kind of sensitive content. The snake_case names are a public contract (CLI output,
/// organisation policies, audit details): never rename one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Email,
    Phone,
    PaymentCard,
    Iban,
    NationalId,
    IpAddress,
    ApiKey,
    PrivateKey,
    Jwt,
    Password,
    Secret,
    Injection,
}

impl Kind {
    pub const ALL: [Kind; 12] = [
        Kind::Email,
        Kind::Phone,
        Kind::PaymentCard,
        Kind::Iban,
        Kind::NationalId,
        Kind::IpAddress,
        Kind::ApiKey,
        Kind::PrivateKey,
        Kind::Jwt,
        Kind::Password,
        Kind::Secret,
        Kind::Injection,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Email => "email",
            Kind::Phone => "phone",
            Kind::PaymentCard => "payment_card",
            Kind::Iban => "iban",
            Kind::NationalId => "national_id",
            Kind::IpAddress => "ip_address",
            Kind::ApiKey => "api_key",
            Kind::PrivateKey => "private_key",
            Kind::Jwt => "jwt",
            Kind::Password => "password",
            Kind::Secret => "secret",
            Kind::Injection => "injection",
        }
    }

    /// The label used in placeholders: `[EMAIL_1]`, `[PAYMENT_CARD_2]`.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Email => "EMAIL",
            Kind::Phone => "PHONE",
            Kind::PaymentCard => "PAYMENT_CARD",
            Kind::Iban => "IBAN",
            Kind::NationalId => "NATIONAL_ID",
            Kind::IpAddress => "IP_ADDRESS",
            Kind::ApiKey => "API_KEY",
            Kind::PrivateKey => "PRIVATE_KEY",
            Kind::Jwt => "JWT",
            Kind::Password => "PASSWORD",
            Kind::Secret => "SECRET",
            Kind::Injection => "INJECTION",
        }
    }

    /// Credentials, as opposed to personal data or injection markers.
    pub fn is_credential(self) -> bool {
        matches!(
            self,
            Kind::ApiKey | Kind::PrivateKey | Kind::Jwt | Kind::Password | Kind::Secret
        )
    }

    /// When two findings overlap, the one with the higher rank is kept: credentials first
    /// (leaking one is worst), then checksum-confirmed identifiers, then the rest.
    pub(crate) fn rank(self) -> u8 {
        match self {
            Kind::PrivateKey => 12,
            Kind::Jwt => 11,
            Kind::ApiKey => 10,
            Kind::Password => 9,
            Kind::Secret => 8,
            Kind::PaymentCard => 7,
            Kind::Iban => 6,
            Kind::NationalId => 5,
            Kind::Email => 4,
            Kind::Phone => 3,
            Kind::IpAddress => 2,
            Kind::Injection => 1,
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a finding was confirmed beyond its shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Confirmation {
    /// A checksum held (Luhn, IBAN mod-97, Steuer-ID ISO 7064).
    Checksum,
    /// The structure decoded (a JWT header, a key block with its footer).
    Structure,
    /// A nearby word said what it is (`password=`, `SSN`, `tel`).
    Context,
    /// The shape alone (an email address, a vendor key prefix and length).
    Format,
}

/// One span of sensitive content. `start` and `end` are byte offsets into the UTF-8 input,
/// always on character boundaries.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
    /// How sure the detector is, 0.0–1.0.
    pub confidence: f32,
    pub confirmation: Confirmation,
    /// Which rule matched (`luhn`, `aws_access_key`, `zero_width`, ...), for audit details.
    pub rule: &'static str,
}

impl Finding {
    pub(crate) fn new(
        kind: Kind,
        start: usize,
        end: usize,
        confidence: f32,
        confirmation: Confirmation,
        rule: &'static str,
    ) -> Finding {
        Finding {
            kind,
            start,
            end,
            confidence,
            confirmation,
            rule,
        }
    }

    pub fn len(&self) -> usize {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }

    pub fn overlaps(&self, other: &Finding) -> bool {
        self.start < other.end && other.start < self.end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
            assert_eq!(kind.label(), kind.as_str().to_uppercase());
        }
        assert_eq!(Kind::parse("ssn"), None);
    }
}
