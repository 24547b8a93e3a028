//! First-run setup, password login, sessions and API keys: how a caller becomes an [`Actor`].

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use dashi_core::{
    ADMIN_GROUP_PERMISSIONS, DEFAULT_GROUP_PERMISSIONS, MIN_PASSWORD_LENGTH, PasswordCheck, generate_api_key,
    hash_password, is_plausible_email, normalize_email, verify_password,
};
use dashi_store::{FirstOrg, Org, Session, User, UserChanges};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::actor::{Actor, Credential};
use crate::{App, Error, Result};

/// Slug of the organization in a single-org install.
pub const DEFAULT_ORG_SLUG: &str = "default";

/// Only refresh a session's expiry (a write) when it was last renewed this long ago.
const SESSION_RENEW_AFTER_SECS: i64 = 60;

/// The `/setup` form.
#[derive(Debug, Clone)]
pub struct SetupForm {
    pub name: String,
    pub email: String,
    pub password: String,
    pub org_name: String,
}

/// A session just opened by a login: the cookie token (secret, only ever given to the client)
/// and the user.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub user: User,
}

fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buffer);
    hex::encode(buffer)
}

/// The stored id of a session: SHA-256 of the cookie token.
fn session_id(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub(crate) fn required(value: &str, field: &str) -> Result<String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(Error::invalid(format!("{field} is required.")));
    }
    Ok(trimmed.to_owned())
}

pub(crate) fn check_password_length(password: &str) -> Result<()> {
    if password.chars().count() < MIN_PASSWORD_LENGTH {
        return Err(Error::invalid(format!("Password must be at least {MIN_PASSWORD_LENGTH} characters long.")));
    }
    Ok(())
}

/// Hashes on a blocking thread: Argon2 takes tens of milliseconds of CPU.
pub(crate) async fn hash_password_blocking(password: &str) -> Result<String> {
    let password = password.to_owned();
    Ok(tokio::task::spawn_blocking(move || hash_password(&password)).await?)
}

impl App {
    /// The organization of a single-org install, once setup has created it.
    pub async fn default_org(&self) -> Result<Option<Org>> {
        Ok(dashi_store::org_by_slug(&self.store, DEFAULT_ORG_SLUG).await?)
    }

    /// Whether first-run setup is still to be done.
    pub async fn needs_setup(&self) -> Result<bool> {
        Ok(dashi_store::count_orgs(&self.store).await? == 0)
    }

    /// Creates the organization, its built-in groups and the first admin (Redash's `/setup`).
    pub async fn setup(&self, form: &SetupForm) -> Result<User> {
        let name = required(&form.name, "Name")?;
        let email = normalize_email(&required(&form.email, "Email")?);
        let org_name = required(&form.org_name, "Organization name")?;
        if !is_plausible_email(&email) {
            return Err(Error::invalid("Invalid email address."));
        }
        check_password_length(&form.password)?;
        if !self.needs_setup().await? {
            return Err(Error::Conflict("Setup has already been completed.".into()));
        }
        let first = FirstOrg {
            name: org_name,
            slug: DEFAULT_ORG_SLUG.into(),
            settings: serde_json::json!({"settings": {}}),
            admin_name: name,
            admin_email: email,
            admin_password_hash: hash_password_blocking(&form.password).await?,
            admin_api_key: generate_api_key(),
            admin_group_permissions: ADMIN_GROUP_PERMISSIONS,
            default_group_permissions: DEFAULT_GROUP_PERMISSIONS,
        };
        let (org_id, user_id) = match dashi_store::create_org_with_admin(&self.store, &first, Utc::now()).await {
            Err(dashi_store::Error::Duplicate { .. }) => {
                return Err(Error::Conflict("Setup has already been completed.".into()));
            }
            other => other?,
        };
        let user = dashi_store::user_by_id(&self.store, org_id, user_id).await?.ok_or(Error::NotFound("user"))?;
        tracing::info!(org.id = org_id.0, user.id = user_id.0, "first-run setup completed");
        Ok(user)
    }

    /// Whether password login is allowed in this org (org setting, else the deployment default).
    pub fn password_login_enabled(&self, org: &Org) -> bool {
        org.settings
            .pointer("/settings/auth_password_login_enabled")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(self.settings.password_login_enabled)
    }

    /// Checks e-mail and password and opens a session. Wrong e-mail, wrong password and a
    /// disabled account give the same answer, so the form does not reveal who has an account.
    pub async fn login(&self, email: &str, password: &str, remember: bool) -> Result<NewSession> {
        let org = self.default_org().await?.ok_or(Error::Unauthenticated)?;
        if !self.password_login_enabled(&org) {
            return Err(Error::Forbidden("Password login is disabled for this organization.".into()));
        }
        let wrong = || Error::invalid("Wrong email or password.");
        let user = dashi_store::user_by_email(&self.store, org.id, &normalize_email(email)).await?.ok_or_else(wrong)?;
        let Some(stored) = user.password_hash.clone().filter(|_| !user.is_disabled()) else {
            return Err(wrong());
        };
        let attempt = password.to_owned();
        let check = tokio::task::spawn_blocking(move || verify_password(&attempt, &stored)).await?;
        let user = match check {
            PasswordCheck::Mismatch => return Err(wrong()),
            PasswordCheck::Match => user,
            PasswordCheck::MatchRehashed(new_hash) => {
                let changes = UserChanges { password_hash: Some(new_hash), ..UserChanges::default() };
                dashi_store::update_user(&self.store, &user, &changes, Utc::now()).await?
            }
        };
        let session = self.open_session(&user, remember).await?;
        self.record_event(org.id, Some(&user), "login", "redash", None).await?;
        Ok(session)
    }

    /// Opens a session for a user who has just proved who they are.
    pub(crate) async fn open_session(&self, user: &User, remember: bool) -> Result<NewSession> {
        let now = Utc::now();
        let token = random_hex(32);
        let lifetime = if remember { self.settings.remember_duration } else { self.settings.session_expiry };
        let expires_at = now + chrono::Duration::from_std(lifetime).unwrap_or(chrono::Duration::hours(6));
        let session = Session {
            id: session_id(&token),
            user_id: user.id,
            csrf_token: random_hex(20),
            remember,
            created_at: now,
            last_seen_at: now,
            expires_at,
        };
        dashi_store::insert_session(&self.store, &session).await?;
        Ok(NewSession { token, expires_at, user: user.clone() })
    }

    /// The actor behind a session cookie, renewing the session's expiry; `None` when the token
    /// is unknown or expired, or the user was disabled meanwhile.
    pub async fn session_actor(&self, token: &str) -> Result<Option<Actor>> {
        let now = Utc::now();
        let Some(session) = dashi_store::live_session(&self.store, &session_id(token), now).await? else {
            return Ok(None);
        };
        if (now - session.last_seen_at).num_seconds() >= SESSION_RENEW_AFTER_SECS {
            let lifetime = if session.remember { self.settings.remember_duration } else { self.settings.session_expiry };
            let expires_at = now + chrono::Duration::from_std(lifetime).unwrap_or(chrono::Duration::hours(6));
            dashi_store::extend_session(&self.store, &session.id, now, expires_at).await?;
            dashi_store::touch_active_at(&self.store, session.user_id, now).await?;
        }
        let credential = Credential::Session { session_id: session.id.clone(), csrf_token: session.csrf_token.clone() };
        self.actor_for_user_id(session.user_id, credential).await
    }

    /// The actor owning a personal API key; `None` for unknown keys and disabled users.
    pub async fn api_key_actor(&self, api_key: &str) -> Result<Option<Actor>> {
        if api_key.is_empty() {
            return Ok(None);
        }
        let Some(user) = dashi_store::user_by_api_key(&self.store, api_key).await? else {
            return Ok(None);
        };
        // The lookup is by unique index; compare again in constant time so a timing side channel
        // on the index cannot confirm key prefixes.
        if !bool::from(subtle::ConstantTimeEq::ct_eq(user.api_key.as_bytes(), api_key.as_bytes())) {
            return Ok(None);
        }
        self.actor_for_user(user, Credential::UserApiKey).await
    }

    async fn actor_for_user_id(&self, user_id: dashi_core::UserId, credential: Credential) -> Result<Option<Actor>> {
        let Some(org) = self.default_org().await? else {
            return Ok(None);
        };
        match dashi_store::user_by_id(&self.store, org.id, user_id).await? {
            Some(user) => self.actor_for_user(user, credential).await,
            None => Ok(None),
        }
    }

    async fn actor_for_user(&self, user: User, credential: Credential) -> Result<Option<Actor>> {
        if user.is_disabled() {
            return Ok(None);
        }
        let Some(org) = dashi_store::org_by_id(&self.store, user.org_id).await? else {
            return Ok(None);
        };
        let groups = dashi_store::list_groups(&self.store, org.id).await?;
        let permissions: BTreeSet<String> = groups
            .iter()
            .filter(|group| user.group_ids.contains(&group.id))
            .flat_map(|group| group.permissions.iter().cloned())
            .collect();
        Ok(Some(Actor { org, user, permissions, credential }))
    }

    /// Ends the session behind a cookie token. Unknown tokens are ignored.
    pub async fn logout(&self, token: &str) -> Result<()> {
        dashi_store::delete_session(&self.store, &session_id(token)).await?;
        Ok(())
    }

    /// Appends an audit event for an actor with extra properties.
    pub(crate) async fn record_event_with(
        &self,
        actor: &Actor,
        action: &str,
        object_type: &str,
        object_id: Option<String>,
        additional_properties: serde_json::Value,
    ) -> Result<()> {
        let event = dashi_store::NewEvent {
            org_id: actor.org_id(),
            user_id: Some(actor.user_id()),
            action: action.into(),
            object_type: object_type.into(),
            object_id,
            additional_properties,
            created_at: Utc::now(),
        };
        dashi_store::record_event(&self.store, &event).await?;
        Ok(())
    }

    /// Appends an audit event.
    pub(crate) async fn record_event(
        &self,
        org_id: dashi_core::OrgId,
        user: Option<&User>,
        action: &str,
        object_type: &str,
        object_id: Option<String>,
    ) -> Result<()> {
        let event = dashi_store::NewEvent {
            org_id,
            user_id: user.map(|user| user.id),
            action: action.into(),
            object_type: object_type.into(),
            object_id,
            additional_properties: serde_json::json!({"user_name": user.map(|user| user.name.clone())}),
            created_at: Utc::now(),
        };
        dashi_store::record_event(&self.store, &event).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_are_hashes_of_tokens() {
        let token = random_hex(32);
        assert_eq!(token.len(), 64);
        assert_eq!(session_id(&token).len(), 64);
        assert_ne!(session_id(&token), token);
        assert_eq!(session_id(&token), session_id(&token));
    }
}
