//! Redash's permission strings and the two built-in groups every organization has.
//!
//! Permissions live on groups; a user's permissions are the union over the user's groups.
//! The strings are stored verbatim (imports from Redash keep them), so they never change.

/// A permission string Redash checks on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    Admin,
    SuperAdmin,
    CreateQuery,
    EditQuery,
    ViewQuery,
    ViewSource,
    ExecuteQuery,
    ScheduleQuery,
    CreateDashboard,
    EditDashboard,
    ListDashboards,
    ListUsers,
    ListAlerts,
    ListDataSources,
}

impl Permission {
    /// The string stored in `groups.permissions` and shown in `/api/session`.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Admin => "admin",
            Permission::SuperAdmin => "super_admin",
            Permission::CreateQuery => "create_query",
            Permission::EditQuery => "edit_query",
            Permission::ViewQuery => "view_query",
            Permission::ViewSource => "view_source",
            Permission::ExecuteQuery => "execute_query",
            Permission::ScheduleQuery => "schedule_query",
            Permission::CreateDashboard => "create_dashboard",
            Permission::EditDashboard => "edit_dashboard",
            Permission::ListDashboards => "list_dashboards",
            Permission::ListUsers => "list_users",
            Permission::ListAlerts => "list_alerts",
            Permission::ListDataSources => "list_data_sources",
        }
    }
}

/// Name of the built-in group holding administrators.
pub const ADMIN_GROUP_NAME: &str = "admin";
/// Name of the built-in group every new user joins.
pub const DEFAULT_GROUP_NAME: &str = "default";

/// Redash compat: the admin group carries exactly these two strings.
pub const ADMIN_GROUP_PERMISSIONS: &[&str] = &["admin", "super_admin"];

/// Redash compat: the default group's permissions, in Redash's order (also given to new
/// regular groups).
pub const DEFAULT_GROUP_PERMISSIONS: &[&str] = &[
    "create_dashboard",
    "create_query",
    "edit_dashboard",
    "edit_query",
    "view_query",
    "view_source",
    "execute_query",
    "list_users",
    "schedule_query",
    "list_dashboards",
    "list_alerts",
    "list_data_sources",
];

/// Whether a group was made by setup (`builtin`, cannot be renamed or deleted) or by an admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupType {
    Builtin,
    Regular,
}

impl GroupType {
    pub fn as_str(self) -> &'static str {
        match self {
            GroupType::Builtin => "builtin",
            GroupType::Regular => "regular",
        }
    }

    /// Reads the stored string; anything unknown is treated as a regular group.
    pub fn parse(stored: &str) -> GroupType {
        if stored == "builtin" { GroupType::Builtin } else { GroupType::Regular }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_permission_is_a_known_string() {
        let known = [
            Permission::CreateQuery,
            Permission::EditQuery,
            Permission::ViewQuery,
            Permission::ViewSource,
            Permission::ExecuteQuery,
            Permission::ScheduleQuery,
            Permission::CreateDashboard,
            Permission::EditDashboard,
            Permission::ListDashboards,
            Permission::ListUsers,
            Permission::ListAlerts,
            Permission::ListDataSources,
        ];
        for name in DEFAULT_GROUP_PERMISSIONS {
            assert!(known.iter().any(|p| p.as_str() == *name), "{name}");
        }
        assert_eq!(DEFAULT_GROUP_PERMISSIONS.len(), known.len());
    }
}
