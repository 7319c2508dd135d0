//! Organisations (tenants): their lifecycle and their slug.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Lifecycle of an organisation: `pending → active ⇄ suspended → deleted`.
/// `deleted` is a soft delete: data is kept for a retention period, then purged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrgStatus {
    Pending,
    Active,
    Suspended,
    Deleted,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("an organisation cannot go from {from} to {to}")]
pub struct TransitionError {
    pub from: OrgStatus,
    pub to: OrgStatus,
}

impl OrgStatus {
    pub const ALL: [OrgStatus; 4] = [
        OrgStatus::Pending,
        OrgStatus::Active,
        OrgStatus::Suspended,
        OrgStatus::Deleted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrgStatus::Pending => "pending",
            OrgStatus::Active => "active",
            OrgStatus::Suspended => "suspended",
            OrgStatus::Deleted => "deleted",
        }
    }

    /// The allowed transitions. Deleting is allowed from every live state; nothing leaves
    /// `deleted` (a purge removes the row instead).
    pub fn transition_to(self, to: OrgStatus) -> Result<OrgStatus, TransitionError> {
        use OrgStatus::*;
        let allowed = matches!(
            (self, to),
            (Pending, Active)
                | (Active, Suspended)
                | (Suspended, Active)
                | (Pending | Active | Suspended, Deleted)
        );
        if allowed {
            Ok(to)
        } else {
            Err(TransitionError { from: self, to })
        }
    }
}

impl fmt::Display for OrgStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OrgStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OrgStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| format!("unknown organisation status `{s}`"))
    }
}

/// A URL-safe organisation handle: 2–63 characters of `a-z`, `0-9` and `-`, starting with a
/// letter, not ending with `-`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Slug(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SlugError {
    #[error("must be 2 to 63 characters long")]
    Length,
    #[error("must start with a lowercase letter")]
    Start,
    #[error("may contain only lowercase letters, digits and '-'")]
    Characters,
    #[error("must not end with '-'")]
    End,
}

impl Slug {
    pub fn parse(s: &str) -> Result<Self, SlugError> {
        if !(2..=63).contains(&s.len()) {
            return Err(SlugError::Length);
        }
        if !s.starts_with(|c: char| c.is_ascii_lowercase()) {
            return Err(SlugError::Start);
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(SlugError::Characters);
        }
        if s.ends_with('-') {
            return Err(SlugError::End);
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Slug {
    type Error = SlugError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Slug::parse(&s)
    }
}

impl From<Slug> for String {
    fn from(slug: Slug) -> Self {
        slug.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::OrgStatus::*;
    use super::*;

    #[test]
    fn every_status_transition_is_decided() {
        let allowed = [
            (Pending, Active),
            (Active, Suspended),
            (Suspended, Active),
            (Pending, Deleted),
            (Active, Deleted),
            (Suspended, Deleted),
        ];
        for from in OrgStatus::ALL {
            for to in OrgStatus::ALL {
                let expected = allowed.contains(&(from, to));
                assert_eq!(from.transition_to(to).is_ok(), expected, "{from} -> {to}");
            }
        }
    }

    #[test]
    fn statuses_round_trip_through_text() {
        for status in OrgStatus::ALL {
            assert_eq!(status.as_str().parse::<OrgStatus>().unwrap(), status);
        }
        assert!("archived".parse::<OrgStatus>().is_err());
    }

    #[test]
    fn slugs_are_checked() {
        assert_eq!(Slug::parse("acme-co").unwrap().as_str(), "acme-co");
        assert_eq!(Slug::parse("a"), Err(SlugError::Length));
        assert_eq!(Slug::parse(&"a".repeat(64)), Err(SlugError::Length));
        assert_eq!(Slug::parse("1acme"), Err(SlugError::Start));
        assert_eq!(Slug::parse("Acme"), Err(SlugError::Start));
        assert_eq!(Slug::parse("ac me"), Err(SlugError::Characters));
        assert_eq!(Slug::parse("acme-"), Err(SlugError::End));
    }
}
