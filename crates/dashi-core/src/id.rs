//! Typed ids, so an org id can never be passed where a user id is meant.
//!
//! Redash exposes integer ids on the wire; we keep them as `i64` everywhere (the metadata schema
//! uses BIGINT on PostgreSQL and INTEGER on SQLite, both 64-bit).

macro_rules! integer_id {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

integer_id!(
    /// An organization (`organizations.id`).
    OrgId,
    /// A user (`users.id`).
    UserId,
    /// A group (`groups.id`).
    GroupId,
);
