//! Managing groups and their members.

use chrono::Utc;
use dashi_core::{DEFAULT_GROUP_PERMISSIONS, GroupId, GroupType, Permission, UserId};
use dashi_store::{Group, User};

use crate::actor::Actor;
use crate::auth::required;
use crate::{App, Error, Result};

fn refuse_builtin(group: &Group) -> Result<()> {
    if group.group_type == GroupType::Builtin {
        return Err(Error::invalid("Can't modify built-in groups."));
    }
    Ok(())
}

impl App {
    /// `GET /api/groups`: admins see every group, others only their own.
    pub async fn list_groups(&self, actor: &Actor) -> Result<Vec<Group>> {
        let groups = dashi_store::list_groups(&self.store, actor.org_id()).await?;
        if actor.is_admin() {
            return Ok(groups);
        }
        Ok(groups.into_iter().filter(|group| actor.group_ids().contains(&group.id)).collect())
    }

    async fn group_in_org(&self, actor: &Actor, id: GroupId) -> Result<Group> {
        dashi_store::group_by_id(&self.store, actor.org_id(), id).await?.ok_or(Error::NotFound("group"))
    }

    /// Admins see any group; others only groups they belong to (403 otherwise, as Redash).
    async fn visible_group(&self, actor: &Actor, id: GroupId) -> Result<Group> {
        let group = self.group_in_org(actor, id).await?;
        if !actor.is_admin() && !actor.group_ids().contains(&id) {
            return Err(Error::forbidden());
        }
        Ok(group)
    }

    /// `GET /api/groups/<id>`.
    pub async fn get_group(&self, actor: &Actor, id: GroupId) -> Result<Group> {
        self.visible_group(actor, id).await
    }

    /// `POST /api/groups`: admins create a regular group with the default permissions.
    pub async fn create_group(&self, actor: &Actor, name: &str) -> Result<Group> {
        actor.require_admin()?;
        let name = required(name, "Name")?;
        let group = dashi_store::insert_group(
            &self.store,
            actor.org_id(),
            GroupType::Regular,
            &name,
            DEFAULT_GROUP_PERMISSIONS,
            Utc::now(),
        )
        .await?;
        self.record_event(actor.org_id(), Some(&actor.user), "create", "group", Some(group.id.to_string())).await?;
        Ok(group)
    }

    /// `POST /api/groups/<id>`: admins rename a regular group.
    pub async fn rename_group(&self, actor: &Actor, id: GroupId, name: &str) -> Result<Group> {
        actor.require_admin()?;
        let group = self.group_in_org(actor, id).await?;
        refuse_builtin(&group)?;
        let name = required(name, "Name")?;
        dashi_store::rename_group(&self.store, id, &name).await?;
        self.record_event(actor.org_id(), Some(&actor.user), "edit", "group", Some(id.to_string())).await?;
        self.group_in_org(actor, id).await
    }

    /// `DELETE /api/groups/<id>`: admins delete a regular group; members simply leave it.
    pub async fn delete_group(&self, actor: &Actor, id: GroupId) -> Result<()> {
        actor.require_admin()?;
        let group = self.group_in_org(actor, id).await?;
        refuse_builtin(&group)?;
        dashi_store::delete_group(&self.store, id).await?;
        self.record_event(actor.org_id(), Some(&actor.user), "delete", "group", Some(id.to_string())).await?;
        Ok(())
    }

    /// `GET /api/groups/<id>/members`: needs `list_users` and (admin or membership).
    pub async fn group_members(&self, actor: &Actor, id: GroupId) -> Result<Vec<User>> {
        actor.require(Permission::ListUsers)?;
        self.visible_group(actor, id).await?;
        Ok(dashi_store::members_of(&self.store, id).await?)
    }

    /// `POST /api/groups/<id>/members`: admins add a user.
    pub async fn add_group_member(&self, actor: &Actor, id: GroupId, user_id: UserId) -> Result<User> {
        actor.require_admin()?;
        self.group_in_org(actor, id).await?;
        let user = dashi_store::user_by_id(&self.store, actor.org_id(), user_id).await?.ok_or(Error::NotFound("user"))?;
        dashi_store::add_member(&self.store, user.id, id).await?;
        self.record_event(actor.org_id(), Some(&actor.user), "add_member", "group", Some(id.to_string())).await?;
        dashi_store::user_by_id(&self.store, actor.org_id(), user_id).await?.ok_or(Error::NotFound("user"))
    }

    /// `DELETE /api/groups/<id>/members/<user_id>`: admins remove a user.
    pub async fn remove_group_member(&self, actor: &Actor, id: GroupId, user_id: UserId) -> Result<()> {
        actor.require_admin()?;
        self.group_in_org(actor, id).await?;
        dashi_store::user_by_id(&self.store, actor.org_id(), user_id).await?.ok_or(Error::NotFound("user"))?;
        dashi_store::remove_member(&self.store, user_id, id).await?;
        self.record_event(actor.org_id(), Some(&actor.user), "remove_member", "group", Some(id.to_string())).await?;
        Ok(())
    }
}
