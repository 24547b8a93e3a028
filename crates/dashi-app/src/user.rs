//! Managing users: list, invite, edit, disable, keys, and the invite/reset links.

use chrono::Utc;
use dashi_core::{
    ADMIN_GROUP_NAME, DEFAULT_GROUP_NAME, GroupId, Permission, UserId, generate_api_key, is_plausible_email,
    normalize_email, verify_password, PasswordCheck,
};
use dashi_store::{NewUser, Page, PageRequest, User, UserChanges, UserDetails, UserFilter, UserOrder};

use crate::actor::{Actor, Credential};
use crate::auth::{NewSession, check_password_length, hash_password_blocking, required};
use crate::{App, Error, Result, token};

/// The filters of `GET /api/users`, as the caller sent them.
#[derive(Debug, Clone)]
pub struct UserListRequest {
    pub search: Option<String>,
    pub disabled: bool,
    pub pending: Option<bool>,
    /// Redash's `order` parameter: a field name, `-` in front for descending.
    pub order: Option<String>,
    pub page: PageRequest,
}

/// Edits to a user (`POST /api/users/<id>`).
#[derive(Debug, Clone, Default)]
pub struct UserUpdate {
    pub name: Option<String>,
    pub email: Option<String>,
    pub password: Option<String>,
    pub old_password: Option<String>,
    pub group_ids: Option<Vec<i64>>,
}

/// A user just invited, with the link that lets them set a password.
#[derive(Debug, Clone)]
pub struct Invited {
    pub user: User,
    pub invite_link: String,
}

/// What the CLI prints about a user it created.
#[derive(Debug, Clone)]
pub struct UserSummary {
    pub id: UserId,
    pub name: String,
    pub email: String,
    pub api_key: String,
}

/// Which kind of one-time link a token belongs to (they only differ in wording and in
/// clearing the pending-invitation flag).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    Invite,
    Reset,
}

fn parse_order(order: Option<&str>) -> (UserOrder, bool) {
    let Some(order) = order.map(str::trim).filter(|order| !order.is_empty()) else {
        return (UserOrder::CreatedAt, true);
    };
    let (field, descending) = match order.strip_prefix('-') {
        Some(field) => (field, true),
        None => (order, false),
    };
    match field {
        "name" => (UserOrder::Name, descending),
        "active_at" => (UserOrder::ActiveAt, descending),
        "groups" => (UserOrder::Groups, descending),
        _ => (UserOrder::CreatedAt, descending),
    }
}

impl App {
    /// `GET /api/users`: needs `list_users`.
    pub async fn list_users(&self, actor: &Actor, request: &UserListRequest) -> Result<Page<User>> {
        actor.require(Permission::ListUsers)?;
        let (order, descending) = parse_order(request.order.as_deref());
        let filter = UserFilter {
            search: request.search.clone(),
            disabled: request.disabled,
            pending: request.pending,
            order,
            descending,
        };
        Ok(dashi_store::list_users(&self.store, actor.org_id(), &filter, request.page).await?)
    }

    /// `GET /api/users/<id>`: needs `list_users`, or be that user.
    pub async fn get_user(&self, actor: &Actor, id: UserId) -> Result<User> {
        if actor.user_id() != id {
            actor.require(Permission::ListUsers)?;
        }
        self.user_in_org(actor, id).await
    }

    /// Whether the actor may see this user's personal API key (admins and the user).
    pub fn may_see_api_key(&self, actor: &Actor, user: &User) -> bool {
        actor.is_admin() || actor.user_id() == user.id
    }

    async fn user_in_org(&self, actor: &Actor, id: UserId) -> Result<User> {
        dashi_store::user_by_id(&self.store, actor.org_id(), id).await?.ok_or(Error::NotFound("user"))
    }

    /// `POST /api/users`: an admin invites a user, who joins the default group with a pending
    /// invitation and sets a password through the returned link.
    pub async fn invite_user(&self, actor: &Actor, name: &str, email: &str) -> Result<Invited> {
        actor.require_admin()?;
        let name = required(name, "Name")?;
        let email = normalize_email(&required(email, "Email")?);
        if !is_plausible_email(&email) || self.is_blocked_domain(&email) {
            return Err(Error::invalid("Bad email address."));
        }
        let default_group = dashi_store::group_by_name(&self.store, actor.org_id(), DEFAULT_GROUP_NAME)
            .await?
            .ok_or(Error::NotFound("default group"))?;
        let new_user = NewUser {
            org_id: actor.org_id(),
            name,
            email,
            password_hash: None,
            api_key: generate_api_key(),
            details: UserDetails { is_invitation_pending: true, ..UserDetails::default() },
            group_ids: vec![default_group.id],
        };
        let user = match dashi_store::insert_user(&self.store, &new_user, Utc::now()).await {
            Err(dashi_store::Error::Duplicate { .. }) => return Err(Error::invalid("Email already taken.")),
            other => other?,
        };
        self.record_event(actor.org_id(), Some(&actor.user), "create", "user", Some(user.id.to_string())).await?;
        let invite_link = self.user_link(&user, LinkKind::Invite);
        Ok(Invited { user, invite_link })
    }

    fn is_blocked_domain(&self, email: &str) -> bool {
        let domain = email.rsplit('@').next().unwrap_or_default();
        self.settings.blocked_domains.iter().any(|blocked| blocked.eq_ignore_ascii_case(domain))
    }

    /// The absolute link a user follows to accept an invitation or reset a password.
    pub fn user_link(&self, user: &User, kind: LinkKind) -> String {
        let token = token::issue(&self.settings.cookie_secret, user.id, user.password_hash.as_deref(), Utc::now());
        let path = match kind {
            LinkKind::Invite => "invite",
            LinkKind::Reset => "reset",
        };
        let base = self.settings.base_url.as_deref().unwrap_or("").trim_end_matches('/');
        format!("{base}/{path}/{token}")
    }

    /// `POST /api/users/<id>/invite`: an admin re-sends an invitation.
    pub async fn reinvite_user(&self, actor: &Actor, id: UserId) -> Result<Invited> {
        actor.require_admin()?;
        let user = self.user_in_org(actor, id).await?;
        let invite_link = self.user_link(&user, LinkKind::Invite);
        Ok(Invited { user, invite_link })
    }

    /// `POST /api/users/<id>/reset_password`: an admin gets a reset link for a user.
    pub async fn reset_password_link(&self, actor: &Actor, id: UserId) -> Result<String> {
        actor.require_admin()?;
        let user = self.user_in_org(actor, id).await?;
        if user.is_disabled() {
            return Err(Error::invalid("This user is disabled."));
        }
        Ok(self.user_link(&user, LinkKind::Reset))
    }

    /// `POST /api/users/<id>`: admins may edit anyone (groups too); users only themselves.
    /// A new password needs the current one, as in Redash.
    pub async fn update_user(&self, actor: &Actor, id: UserId, update: &UserUpdate) -> Result<User> {
        actor.require_admin_or_self(id)?;
        let user = self.user_in_org(actor, id).await?;
        let mut changes = UserChanges::default();
        if let Some(name) = &update.name {
            changes.name = Some(required(name, "Name")?);
        }
        if let Some(email) = &update.email {
            let email = normalize_email(&required(email, "Email")?);
            if !is_plausible_email(&email) {
                return Err(Error::invalid("Bad email address."));
            }
            changes.email = Some(email);
        }
        if let Some(password) = &update.password {
            let Some(old_password) = &update.old_password else {
                return Err(Error::Forbidden("Must provide current password to update password.".into()));
            };
            let stored = user.password_hash.clone().unwrap_or_default();
            let old = old_password.clone();
            let check = tokio::task::spawn_blocking(move || verify_password(&old, &stored)).await?;
            if check == PasswordCheck::Mismatch {
                return Err(Error::Forbidden("Incorrect current password.".into()));
            }
            check_password_length(password)?;
            changes.password_hash = Some(hash_password_blocking(password).await?);
        }
        if let Some(group_ids) = update.group_ids.as_ref().filter(|ids| !ids.is_empty()) {
            if !actor.is_admin() {
                return Err(Error::forbidden());
            }
            changes.group_ids = Some(self.known_group_ids(actor, group_ids).await?);
        }
        let updated = match dashi_store::update_user(&self.store, &user, &changes, Utc::now()).await {
            Err(dashi_store::Error::Duplicate { .. }) => return Err(Error::invalid("Email already taken.")),
            other => other?,
        };
        if changes.password_hash.is_some() || changes.email.is_some() {
            // Redash ties sessions to e-mail and password: other sessions end, the acting one stays.
            let keep = match &actor.credential {
                Credential::Session { session_id, .. } => Some(session_id.as_str()),
                Credential::UserApiKey => None,
            };
            dashi_store::delete_sessions_of_user(&self.store, id, keep).await?;
        }
        self.record_event(actor.org_id(), Some(&actor.user), "edit", "user", Some(id.to_string())).await?;
        Ok(updated)
    }

    async fn known_group_ids(&self, actor: &Actor, group_ids: &[i64]) -> Result<Vec<GroupId>> {
        let groups = dashi_store::list_groups(&self.store, actor.org_id()).await?;
        group_ids
            .iter()
            .map(|id| {
                groups
                    .iter()
                    .find(|group| group.id.0 == *id)
                    .map(|group| group.id)
                    .ok_or_else(|| Error::invalid(format!("Group {id} not found.")))
            })
            .collect()
    }

    /// `POST|DELETE /api/users/<id>/disable`: admins only, never themselves. Disabling ends the
    /// user's sessions at once.
    pub async fn set_user_disabled(&self, actor: &Actor, id: UserId, disabled: bool) -> Result<User> {
        actor.require_admin()?;
        if actor.user_id() == id {
            return Err(Error::Forbidden("You cannot disable your own account.".into()));
        }
        let user = self.user_in_org(actor, id).await?;
        let now = Utc::now();
        dashi_store::set_disabled(&self.store, id, disabled.then_some(now), now).await?;
        if disabled {
            dashi_store::delete_sessions_of_user(&self.store, id, None).await?;
        }
        let action = if disabled { "disable" } else { "enable" };
        self.record_event(actor.org_id(), Some(&actor.user), action, "user", Some(id.to_string())).await?;
        self.user_in_org(actor, user.id).await
    }

    /// `POST /api/users/<id>/regenerate_api_key`: admins, or the user.
    pub async fn regenerate_api_key(&self, actor: &Actor, id: UserId) -> Result<User> {
        actor.require_admin_or_self(id)?;
        self.user_in_org(actor, id).await?;
        dashi_store::set_api_key(&self.store, id, &generate_api_key(), Utc::now()).await?;
        self.record_event(actor.org_id(), Some(&actor.user), "regenerate_api_key", "user", Some(id.to_string())).await?;
        self.user_in_org(actor, id).await
    }

    /// `DELETE /api/users/<id>`: admins remove an invitation that was never accepted.
    pub async fn delete_pending_user(&self, actor: &Actor, id: UserId) -> Result<User> {
        actor.require_admin()?;
        if actor.user_id() == id {
            return Err(Error::Forbidden("You cannot delete your own account.".into()));
        }
        let user = self.user_in_org(actor, id).await?;
        if !user.details.is_invitation_pending {
            return Err(Error::Forbidden(
                "You cannot delete activated users. Please disable the user instead.".into(),
            ));
        }
        dashi_store::delete_user(&self.store, id).await?;
        self.record_event(actor.org_id(), Some(&actor.user), "delete", "user", Some(id.to_string())).await?;
        Ok(user)
    }

    /// The user an invite or reset token is valid for, if it is.
    pub async fn user_for_link(&self, token: &str) -> Result<Option<User>> {
        let (Some(org), Some(user_id)) = (self.default_org().await?, token::user_of(token)) else {
            return Ok(None);
        };
        let Some(user) = dashi_store::user_by_id(&self.store, org.id, user_id).await? else {
            return Ok(None);
        };
        let valid = token::verify(
            &self.settings.cookie_secret,
            token,
            user.id,
            user.password_hash.as_deref(),
            self.settings.invitation_token_max_age,
            Utc::now(),
        );
        Ok((valid && !user.is_disabled()).then_some(user))
    }

    /// Sets a new password (accepting a pending invitation) and ends every session of the user.
    async fn replace_password(&self, user: &User, password: &str) -> Result<User> {
        check_password_length(password)?;
        let mut details = user.details.clone();
        details.is_invitation_pending = false;
        let changes = UserChanges {
            password_hash: Some(hash_password_blocking(password).await?),
            details: Some(details),
            ..UserChanges::default()
        };
        let user = dashi_store::update_user(&self.store, user, &changes, Utc::now()).await?;
        dashi_store::delete_sessions_of_user(&self.store, user.id, None).await?;
        Ok(user)
    }

    /// Sets a password through an invite or reset link and logs the user in.
    pub async fn set_password_with_link(&self, token: &str, password: &str) -> Result<NewSession> {
        let user = self.user_for_link(token).await?.ok_or_else(|| Error::invalid("This link is invalid or has expired."))?;
        let user = self.replace_password(&user, password).await?;
        self.open_session(&user, false).await
    }

    /// CLI: creates a user directly (no invitation), optionally an admin.
    pub async fn admin_create_user(
        &self,
        org_slug: &str,
        name: &str,
        email: &str,
        password: Option<&str>,
        admin: bool,
    ) -> Result<UserSummary> {
        let org = dashi_store::org_by_slug(&self.store, org_slug).await?.ok_or(Error::NotFound("organization"))?;
        let name = required(name, "Name")?;
        let email = normalize_email(&required(email, "Email")?);
        if !is_plausible_email(&email) {
            return Err(Error::invalid("Bad email address."));
        }
        let password_hash = match password {
            Some(password) => {
                check_password_length(password)?;
                Some(hash_password_blocking(password).await?)
            }
            None => None,
        };
        let mut group_ids = Vec::new();
        let group_names: &[&str] = if admin { &[ADMIN_GROUP_NAME, DEFAULT_GROUP_NAME] } else { &[DEFAULT_GROUP_NAME] };
        for group_name in group_names {
            let group = dashi_store::group_by_name(&self.store, org.id, group_name)
                .await?
                .ok_or(Error::NotFound("built-in group"))?;
            group_ids.push(group.id);
        }
        let new_user = NewUser {
            org_id: org.id,
            name,
            email,
            details: UserDetails { is_invitation_pending: password_hash.is_none(), ..UserDetails::default() },
            password_hash,
            api_key: generate_api_key(),
            group_ids,
        };
        let user = match dashi_store::insert_user(&self.store, &new_user, Utc::now()).await {
            Err(dashi_store::Error::Duplicate { .. }) => return Err(Error::invalid("Email already taken.")),
            other => other?,
        };
        Ok(UserSummary { id: user.id, name: user.name, email: user.email, api_key: user.api_key })
    }

    /// CLI: sets a user's password and ends their sessions.
    pub async fn admin_set_password(&self, org_slug: &str, email: &str, password: &str) -> Result<()> {
        let org = dashi_store::org_by_slug(&self.store, org_slug).await?.ok_or(Error::NotFound("organization"))?;
        let user = dashi_store::user_by_email(&self.store, org.id, &normalize_email(email))
            .await?
            .ok_or(Error::NotFound("user"))?;
        self.replace_password(&user, password).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_parameter() {
        assert_eq!(parse_order(None), (UserOrder::CreatedAt, true));
        assert_eq!(parse_order(Some("name")), (UserOrder::Name, false));
        assert_eq!(parse_order(Some("-active_at")), (UserOrder::ActiveAt, true));
        assert_eq!(parse_order(Some("groups")), (UserOrder::Groups, false));
        assert_eq!(parse_order(Some("bogus")), (UserOrder::CreatedAt, false));
    }
}
