//! Per-object grants (Redash's ACL, facts §2.14) on queries and dashboards.
//!
//! Anyone who may read the object may list its grants and ask whether they hold one; only an
//! admin or the object's owner may grant or revoke. Of the three access types only `modify`
//! changes what a user may do (it lets a non-owner edit, as `can_modify` reads it).

use std::collections::BTreeMap;

use chrono::Utc;
use dashi_core::{Permission, UserId};
use dashi_store::{AccessGrant, AclObject, DashboardId, QueryId, User};

use crate::actor::Actor;
use crate::{App, Error, Result};

/// Redash's access types.
const ACCESS_TYPES: [&str; 3] = ["view", "modify", "delete"];

/// A grant with the users on both sides.
#[derive(Debug, Clone)]
pub struct GrantDetails {
    pub grant: AccessGrant,
    pub grantor: Option<User>,
    pub grantee: Option<User>,
}

fn checked_access_type(access_type: &str) -> Result<&str> {
    if ACCESS_TYPES.contains(&access_type) { Ok(access_type) } else { Err(Error::invalid("Unknown access type.")) }
}

impl App {
    /// The object's owner, once the actor is known to be able to read it.
    async fn acl_owner(&self, actor: &Actor, object: AclObject) -> Result<UserId> {
        match object {
            AclObject::Query(id) => Ok(self.visible_query(actor, QueryId(id)).await?.query.user_id),
            AclObject::Dashboard(id) => {
                actor.require(Permission::ListDashboards)?;
                Ok(self.dashboard_in_org(actor, DashboardId(id)).await?.user_id)
            }
        }
    }

    async fn require_acl_owner(&self, actor: &Actor, object: AclObject) -> Result<()> {
        let owner = self.acl_owner(actor, object).await?;
        if actor.is_admin() || actor.user_id() == owner {
            Ok(())
        } else {
            Err(Error::Forbidden("You don't have permission to edit this resource.".into()))
        }
    }

    /// `GET /api/<queries|dashboards>/<id>/acl`: grantees by access type.
    pub async fn list_acl(&self, actor: &Actor, object: AclObject) -> Result<BTreeMap<String, Vec<User>>> {
        self.acl_owner(actor, object).await?;
        let mut by_type: BTreeMap<String, Vec<User>> = BTreeMap::new();
        for grant in dashi_store::access_grants(&self.store, object).await? {
            if let Some(user) = dashi_store::user_by_id(&self.store, actor.org_id(), grant.grantee_id).await? {
                by_type.entry(grant.access_type).or_default().push(user);
            }
        }
        Ok(by_type)
    }

    /// `POST /api/<queries|dashboards>/<id>/acl`: grants `access_type` to a user of the
    /// organization; granting twice is not an error.
    pub async fn grant_acl(
        &self,
        actor: &Actor,
        object: AclObject,
        access_type: &str,
        user_id: i64,
    ) -> Result<GrantDetails> {
        let access_type = checked_access_type(access_type)?;
        self.require_acl_owner(actor, object).await?;
        let grantee = dashi_store::user_by_id(&self.store, actor.org_id(), UserId(user_id))
            .await?
            .ok_or_else(|| Error::invalid("User not found."))?;
        let grant =
            dashi_store::grant_access(&self.store, object, access_type, actor.user_id(), grantee.id, Utc::now())
                .await?;
        let (object_type, object_id) = object_event_parts(object);
        self.record_event_with(
            actor,
            "grant_permission",
            object_type,
            Some(object_id),
            serde_json::json!({"user_name": actor.user.name, "access_type": access_type, "grantee": grantee.id.0}),
        )
        .await?;
        Ok(GrantDetails { grant, grantor: Some(actor.user.clone()), grantee: Some(grantee) })
    }

    /// `DELETE /api/<queries|dashboards>/<id>/acl`: revokes `access_type` from a user.
    pub async fn revoke_acl(&self, actor: &Actor, object: AclObject, access_type: &str, user_id: i64) -> Result<()> {
        let access_type = checked_access_type(access_type)?;
        self.require_acl_owner(actor, object).await?;
        let grantee = dashi_store::user_by_id(&self.store, actor.org_id(), UserId(user_id))
            .await?
            .ok_or_else(|| Error::invalid("User not found."))?;
        dashi_store::revoke_access(&self.store, object, access_type, grantee.id).await?;
        let (object_type, object_id) = object_event_parts(object);
        self.record_event_with(
            actor,
            "revoke_permission",
            object_type,
            Some(object_id),
            serde_json::json!({"user_name": actor.user.name, "access_type": access_type, "grantee": grantee.id.0}),
        )
        .await?;
        Ok(())
    }

    /// `GET /api/<queries|dashboards>/<id>/acl/<access_type>`: whether the actor holds it
    /// (owners and admins hold every type, as Redash answers).
    pub async fn check_acl(&self, actor: &Actor, object: AclObject, access_type: &str) -> Result<bool> {
        let owner = self.acl_owner(actor, object).await?;
        if actor.is_admin() || actor.user_id() == owner {
            return Ok(true);
        }
        Ok(dashi_store::has_access_grant(&self.store, object, actor.user_id(), access_type).await?)
    }
}

fn object_event_parts(object: AclObject) -> (&'static str, String) {
    match object {
        AclObject::Query(id) => ("query", id.to_string()),
        AclObject::Dashboard(id) => ("dashboard", id.to_string()),
    }
}
