//! E-mail: an HTML message over SMTP to the listed addresses. Subscriptions without a
//! destination use this type with the subscriber's own address.

use std::time::Duration;

use async_trait::async_trait;
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde_json::{Map, Value, json};

use crate::kind::{Destination, Kind, required, text};
use crate::{Error, MailSettings, Notification, Outbound};

pub(crate) const KIND: Kind = Kind { type_name: "email", name: "Email", icon: "fa-envelope", schema, open };

/// Redash's default subject; `{alert_name}` and `{state}` (upper case) are filled in.
const DEFAULT_SUBJECT_TEMPLATE: &str = "Alert: {alert_name} changed status to {state}";

/// The body of alert e-mail without a custom body: a Mustache template over Redash's alert
/// template variables, rendered HTML-escaped by the evaluation.
pub const DEFAULT_MAIL_BODY_TEMPLATE: &str = r#"<!DOCTYPE html>
<html>
<body style="font-family: sans-serif; font-size: 13px; color: #595959">
<p><strong>{{ALERT_NAME}}</strong> is now <strong>{{ALERT_STATUS}}</strong>.</p>
<p>Condition: <code>{{ALERT_SELECTOR}} {{QUERY_RESULT_VALUE}} {{ALERT_CONDITION}} {{ALERT_THRESHOLD}}</code></p>
<p>Query: <a href="{{QUERY_URL}}">{{QUERY_NAME}}</a> &middot; Alert: <a href="{{ALERT_URL}}">{{ALERT_URL}}</a></p>
<table style="border-collapse: collapse">
<tr>{{#QUERY_RESULT_COLS}}<th style="text-align: left; padding: 4px 8px">{{friendly_name}}</th>{{/QUERY_RESULT_COLS}}</tr>
{{#QUERY_RESULT_TABLE}}<tr>{{#.}}<td style="padding: 4px 8px">{{.}}</td>{{/.}}</tr>
{{/QUERY_RESULT_TABLE}}</table>
</body>
</html>
"#;

fn schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "addresses": {"type": "string"},
            "subject_template": {"type": "string", "default": DEFAULT_SUBJECT_TEMPLATE, "title": "Subject Template"},
        },
        "required": ["addresses"],
        "extra_options": ["subject_template"],
    })
}

fn open(options: &Map<String, Value>) -> Result<Box<dyn Destination>, Error> {
    let addresses: Vec<String> = required(options, "addresses")?
        .split(',')
        .map(str::trim)
        .filter(|address| !address.is_empty())
        .map(str::to_owned)
        .collect();
    Ok(Box::new(Email {
        addresses,
        subject_template: text(options, "subject_template").unwrap_or_else(|| DEFAULT_SUBJECT_TEMPLATE.into()),
    }))
}

struct Email {
    addresses: Vec<String>,
    subject_template: String,
}

impl Email {
    fn subject(&self, note: &Notification) -> String {
        match &note.custom_subject {
            Some(subject) => subject.clone(),
            None => self
                .subject_template
                .replace("{alert_name}", &note.alert_name)
                .replace("{state}", &note.state.to_uppercase()),
        }
    }

    fn message(&self, note: &Notification, mail: &MailSettings) -> Result<Message, Error> {
        let mailbox = |address: &str| {
            address
                .parse::<Mailbox>()
                .map_err(|error| Error::Options(format!("\"{address}\" is not an e-mail address: {error}")))
        };
        let mut builder = Message::builder().from(mailbox(&mail.sender)?).subject(self.subject(note));
        for address in &self.addresses {
            builder = builder.to(mailbox(address)?);
        }
        let body = note.custom_body.clone().unwrap_or_else(|| note.mail_body.clone());
        builder.header(ContentType::TEXT_HTML).body(body).map_err(|error| Error::Options(format!("e-mail: {error}")))
    }
}

fn transport(mail: &MailSettings) -> Result<AsyncSmtpTransport<Tokio1Executor>, Error> {
    let tls_error = |error: lettre::transport::smtp::Error| Error::Smtp { reason: error.to_string(), transient: false };
    let mut builder = if mail.use_ssl {
        AsyncSmtpTransport::<Tokio1Executor>::relay(&mail.server).map_err(tls_error)?
    } else if mail.use_tls {
        AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&mail.server).map_err(tls_error)?
    } else {
        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&mail.server)
    };
    builder = builder.port(mail.port).timeout(Some(Duration::from_secs(30)));
    if let Some(username) = &mail.username {
        builder = builder.credentials(Credentials::new(username.clone(), mail.password.clone().unwrap_or_default()));
    }
    Ok(builder.build())
}

#[async_trait]
impl Destination for Email {
    async fn send(&self, note: &Notification, outbound: &Outbound) -> Result<(), Error> {
        let mail = outbound.mail.as_ref().ok_or(Error::MailNotConfigured)?;
        if self.addresses.is_empty() {
            return Err(Error::Options("no e-mail addresses to send to".into()));
        }
        let message = self.message(note, mail)?;
        transport(mail)?.send(message).await.map_err(|error| Error::Smtp {
            // A refused connection or a 4xx reply may pass; a 5xx reply will not.
            transient: !error.is_permanent(),
            reason: error.to_string(),
        })?;
        Ok(())
    }
}
