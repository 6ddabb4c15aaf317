//! Catalog records (SPEC §2): providers, models, configurations, tasks,
//! users, budgets and API tokens.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};

use super::money::Money;
use super::price::Pricing;
use super::record::{MAX_NAME_LEN, check_name};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provider {
    pub identifier: String,
    pub name: String,
    pub adapter_type: String,
    pub active: bool,
    /// Registered from usage rather than by an administrator.
    pub discovered: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Model {
    pub identifier: String,
    pub name: String,
    pub provider: String,
    /// The vendor's name for the model, e.g. `gpt-4o`.
    pub model_id: String,
    /// `None` for a discovered model whose price nobody has set yet.
    pub pricing: Option<Pricing>,
    pub active: bool,
    pub discovered: bool,
}

/// Daily limits of a configuration across all users; 0 = unlimited.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DailyLimits {
    pub max_requests_per_day: i64,
    pub max_tokens_per_day: i64,
    pub max_cost_per_day: Money,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Configuration {
    pub identifier: String,
    pub name: String,
    pub model: Option<String>,
    pub limits: DailyLimits,
    pub discovered: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Task {
    pub identifier: String,
    pub name: String,
    pub configuration: Option<String>,
    pub discovered: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    Admin,
    Member,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Role, String> {
        match s {
            "admin" => Ok(Role::Admin),
            "member" => Ok(Role::Member),
            _ => Err(format!("unknown role {s:?}: use admin or member")),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub active: bool,
    pub discovered: bool,
    pub has_password: bool,
}

/// A user's ceilings; 0 = unlimited on that axis.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Budget {
    pub max_requests_per_day: i64,
    pub max_tokens_per_day: i64,
    pub max_cost_per_day: Money,
    pub max_requests_per_month: i64,
    pub max_tokens_per_month: i64,
    pub max_cost_per_month: Money,
    pub enforced: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// May record usage and use budgets.
    Ingest,
    /// May read analytics and the catalog.
    Read,
    /// May do everything.
    Admin,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Ingest => "ingest",
            Scope::Read => "read",
            Scope::Admin => "admin",
        }
    }

    pub fn may_ingest(self) -> bool {
        matches!(self, Scope::Ingest | Scope::Admin)
    }

    pub fn may_read(self) -> bool {
        matches!(self, Scope::Read | Scope::Admin)
    }
}

impl FromStr for Scope {
    type Err = String;
    fn from_str(s: &str) -> Result<Scope, String> {
        match s {
            "ingest" => Ok(Scope::Ingest),
            "read" => Ok(Scope::Read),
            "admin" => Ok(Scope::Admin),
            _ => Err(format!("unknown scope {s:?}: use ingest, read or admin")),
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub scope: Scope,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked: bool,
}

/// Checks an identifier or label an administrator gives a catalog record.
pub fn check_identifier(field: &'static str, value: &str) -> Result<(), (&'static str, String)> {
    check_name(Some(value), MAX_NAME_LEN).map_err(|m| (field, m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes() {
        for s in [Scope::Ingest, Scope::Read, Scope::Admin] {
            assert_eq!(s.as_str().parse::<Scope>(), Ok(s));
        }
        assert!(Scope::Ingest.may_ingest() && !Scope::Ingest.may_read());
        assert!(Scope::Read.may_read() && !Scope::Read.may_ingest());
        assert!(Scope::Admin.may_read() && Scope::Admin.may_ingest());
        assert!("root".parse::<Scope>().unwrap_err().contains("root"));
    }

    #[test]
    fn roles() {
        assert_eq!("admin".parse::<Role>(), Ok(Role::Admin));
        assert_eq!("member".parse::<Role>(), Ok(Role::Member));
        assert!("owner".parse::<Role>().is_err());
    }

    #[test]
    fn identifiers() {
        assert!(check_identifier("identifier", "openai-prod").is_ok());
        assert_eq!(
            check_identifier("identifier", "").unwrap_err().0,
            "identifier"
        );
    }
}
