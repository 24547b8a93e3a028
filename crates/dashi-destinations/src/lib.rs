//! Alert destinations: where a notification goes and how it is formatted and delivered.
//!
//! One module per destination type, each with its options, a [`Destination`] impl and its
//! [`Kind`]; [`KINDS`] is the one list (Redash's twelve types, with Redash's type names and
//! option names). A [`Notification`] is rendered before it gets here (subject and body templates
//! applied, links built); a destination only formats it for its service and delivers it through
//! [`Outbound`] (the shared HTTP client, the SMTP settings, the fixed service addresses). Its
//! [`Error`] says whether a retry can help; nothing is logged and swallowed here.
//!
//! Read [`Kind`] and [`Destination`] first, then `http.rs`, then any one module.

mod asana;
mod chatwork;
mod datadog;
mod discord;
mod email;
mod error;
mod google_chat;
mod http;
mod kind;
mod mattermost;
mod microsoft_teams;
mod notification;
mod outbound;
mod pagerduty;
mod slack;
mod webex;
mod webhook;

pub use email::DEFAULT_MAIL_BODY_TEMPLATE;
pub use error::Error;
pub use kind::{Destination, KINDS, Kind, kind};
pub use notification::Notification;
pub use outbound::{Endpoints, MailSettings, Outbound};

use serde_json::{Map, Value};

/// Delivers `note` through a destination of `type_name` configured with `options`.
pub async fn send(
    outbound: &Outbound,
    type_name: &str,
    options: &Map<String, Value>,
    note: &Notification,
) -> Result<(), Error> {
    let kind = kind(type_name).ok_or_else(|| Error::Options(format!("unknown destination type \"{type_name}\"")))?;
    let destination = (kind.open)(options)?;
    destination.send(note, outbound).await
}
