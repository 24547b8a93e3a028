//! Redash's user and group dicts.

use dashi_core::gravatar_url;
use dashi_store::{Group, User};
use serde_json::{Value, json};

use super::{optional_time, time};

/// Redash's user dict. `groups` is a list of ids, or of `{id, name}` in lists when `groups`
/// (all of the org's groups) is given. `api_key` only when the caller may see it.
pub(crate) fn user_json(user: &User, groups: Option<&[Group]>, with_api_key: bool) -> Value {
    let profile_image_url = if user.is_disabled() {
        // Redash shows a fixed avatar for disabled users.
        "/static/images/avatar.svg".to_owned()
    } else {
        user.details.profile_image_url.clone().unwrap_or_else(|| gravatar_url(&user.email))
    };
    let group_value = match groups {
        Some(all) => Value::Array(
            user.group_ids
                .iter()
                .filter_map(|id| all.iter().find(|group| group.id == *id))
                .map(|group| json!({"id": group.id.0, "name": group.name}))
                .collect(),
        ),
        None => json!(user.group_ids.iter().map(|id| id.0).collect::<Vec<_>>()),
    };
    let mut dict = json!({
        "id": user.id.0,
        "name": user.name,
        "email": user.email,
        "profile_image_url": profile_image_url,
        "groups": group_value,
        "updated_at": time(user.updated_at),
        "created_at": time(user.created_at),
        "disabled_at": optional_time(user.disabled_at),
        "is_disabled": user.is_disabled(),
        "active_at": optional_time(user.active_at),
        "is_invitation_pending": user.details.is_invitation_pending,
        "is_email_verified": user.details.is_email_verified,
        "auth_type": if user.password_hash.is_some() { "password" } else { "external" },
    });
    if with_api_key {
        dict["api_key"] = json!(user.api_key);
    }
    dict
}

/// Redash's group dict.
pub(crate) fn group_json(group: &Group) -> Value {
    json!({
        "id": group.id.0,
        "name": group.name,
        "permissions": group.permissions,
        "type": group.group_type.as_str(),
        "created_at": time(group.created_at),
    })
}
