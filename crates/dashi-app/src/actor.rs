//! Actor: who is calling, established once per request, and what they may do.

use std::collections::BTreeSet;

use dashi_core::{GroupId, OrgId, Permission, UserId};
use dashi_store::{Org, User};

use crate::{Error, Result};

/// How the caller proved who they are. Matters for CSRF (only cookies need it) and for the
/// session payload Redash returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A browser session; holds the session id (hash of the cookie token) and its CSRF token.
    Session { session_id: String, csrf_token: String },
    /// A user's personal API key.
    UserApiKey,
}

/// An authenticated user acting in their organization.
#[derive(Debug, Clone)]
pub struct Actor {
    pub org: Org,
    pub user: User,
    pub permissions: BTreeSet<String>,
    pub credential: Credential,
}

impl Actor {
    pub fn org_id(&self) -> OrgId {
        self.org.id
    }

    pub fn user_id(&self) -> UserId {
        self.user.id
    }

    pub fn group_ids(&self) -> &[GroupId] {
        &self.user.group_ids
    }

    pub fn has(&self, permission: Permission) -> bool {
        self.permissions.contains(permission.as_str())
    }

    pub fn is_admin(&self) -> bool {
        self.has(Permission::Admin)
    }

    /// Fails with 403 unless the actor holds `permission`.
    pub fn require(&self, permission: Permission) -> Result<()> {
        if self.has(permission) { Ok(()) } else { Err(Error::forbidden()) }
    }

    pub fn require_admin(&self) -> Result<()> {
        self.require(Permission::Admin)
    }

    /// Redash's `require_admin_or_owner`.
    pub fn require_admin_or_self(&self, user_id: UserId) -> Result<()> {
        if self.is_admin() || self.user.id == user_id { Ok(()) } else { Err(Error::forbidden()) }
    }
}
