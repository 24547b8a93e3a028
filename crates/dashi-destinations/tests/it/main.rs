//! Every destination type delivering to a real listener on 127.0.0.1: an SMTP sink for e-mail,
//! an HTTP sink standing in for each service's endpoint. Payloads are checked against each
//! service's documented format (and Redash's choices within it).

use std::time::Duration;

use dashi_destinations::{Endpoints, Error, MailSettings, Notification, Outbound, send};
use dashi_testkit::{HttpSink, ReceivedRequest, SmtpSink};
use serde_json::{Map, Value, json};

const WAIT: Duration = Duration::from_secs(10);

fn note(state: &str) -> Notification {
    Notification {
        alert_id: 7,
        alert_name: "Orders dropped".into(),
        query_id: 3,
        query_name: "Orders per hour".into(),
        query_text: "SELECT \"count\" FROM orders".into(),
        state: state.into(),
        custom_subject: None,
        custom_body: None,
        mail_body: "<p>default body</p>".into(),
        host: "https://bi.example.com".into(),
        alert: json!({"id": 7, "name": "Orders dropped", "state": state, "query_id": 3, "user_id": 1}),
        metadata: json!({"query_result_id": 11}),
    }
}

fn with_texts(mut note: Notification) -> Notification {
    note.custom_subject = Some("Orders &lt; 10".into());
    note.custom_body = Some("Only 4 orders".into());
    note
}

fn options(pairs: Value) -> Map<String, Value> {
    pairs.as_object().expect("an object").clone()
}

/// An outbound whose fixed-address services all point at `sink`.
fn outbound_to(sink: &HttpSink) -> Outbound {
    let endpoints = Endpoints {
        chatwork: format!("{}/chatwork", sink.url),
        asana: format!("{}/asana", sink.url),
        webex: format!("{}/webex", sink.url),
        datadog: format!("{}/datadog", sink.url),
        pagerduty: format!("{}/pagerduty", sink.url),
    };
    Outbound::new(None, endpoints).expect("outbound")
}

/// Sends one notification through a destination and returns the one request the sink got.
async fn deliver_one(type_name: &str, options_json: Value, note: &Notification) -> ReceivedRequest {
    let sink = HttpSink::start().await;
    let mut options_json = options_json;
    if let Some(url) = options_json.get_mut("url") {
        *url = format!("{}{}", sink.url, url.as_str().unwrap_or_default()).into();
    }
    send(&outbound_to(&sink), type_name, &options(options_json), note).await.expect("delivered");
    let received = sink.wait_for(1, WAIT).await;
    assert_eq!(received.len(), 1, "{type_name}: {received:?}");
    received[0].clone()
}

fn body_json(request: &ReceivedRequest) -> Value {
    serde_json::from_slice(&request.body).unwrap_or_else(|error| panic!("not JSON ({error}): {}", request.text()))
}

fn form(request: &ReceivedRequest) -> Vec<(String, String)> {
    url::form_urlencoded::parse(&request.body).into_owned().collect()
}

#[tokio::test]
async fn slack_gets_one_attachment_coloured_by_state() {
    let request = deliver_one("slack", json!({"url": "/hooks/slack"}), &note("triggered")).await;
    assert_eq!((request.method.as_str(), request.target.as_str()), ("POST", "/hooks/slack"));
    assert_eq!(
        body_json(&request),
        json!({"attachments": [{"text": "Orders dropped just triggered", "color": "#c0392b", "fields": [
            {"title": "Query", "type": "mrkdwn", "value": "https://bi.example.com/queries/3"},
            {"title": "Alert", "type": "mrkdwn", "value": "https://bi.example.com/alerts/7"},
        ]}]})
    );
    let request = deliver_one("slack", json!({"url": "/hooks/slack"}), &with_texts(note("ok"))).await;
    let attachment = &body_json(&request)["attachments"][0];
    assert_eq!(attachment["text"], "Orders dropped went back to normal");
    assert_eq!(attachment["color"], "#27ae60");
    assert_eq!(attachment["fields"][2], json!({"title": "Description", "value": "Only 4 orders"}));
}

#[tokio::test]
async fn webhook_gets_redash_alert_state_change_with_basic_auth() {
    let options = json!({"url": "/hook", "username": "bot", "password": "pw"});
    let request = deliver_one("webhook", options, &with_texts(note("triggered"))).await;
    assert_eq!(request.header("content-type"), Some("application/json"));
    // "bot:pw" in Base64.
    assert_eq!(request.header("authorization"), Some("Basic Ym90OnB3"));
    let body = body_json(&request);
    assert_eq!(body["event"], "alert_state_change");
    assert_eq!(body["url_base"], "https://bi.example.com");
    assert_eq!(body["metadata"], json!({"query_result_id": 11}));
    assert_eq!(body["alert"]["id"], 7);
    assert_eq!(body["alert"]["state"], "triggered");
    assert_eq!(body["alert"]["title"], "Orders &lt; 10");
    assert_eq!(body["alert"]["description"], "Only 4 orders");
}

#[tokio::test]
async fn mattermost_gets_text_attachment_and_overrides() {
    let options = json!({"url": "/mm", "username": "dashi", "channel": "ops", "icon_url": "https://x/i.png"});
    let request = deliver_one("mattermost", options, &note("triggered")).await;
    assert_eq!(
        body_json(&request),
        json!({"text": "#### Orders dropped just triggered", "username": "dashi", "icon_url": "https://x/i.png", "channel": "ops"})
    );
    let request = deliver_one("mattermost", json!({"url": "/mm"}), &with_texts(note("ok"))).await;
    assert_eq!(
        body_json(&request),
        json!({"text": "Orders &lt; 10", "attachments": [{"fields": [{"title": "Description", "value": "Only 4 orders"}]}]})
    );
}

#[tokio::test]
async fn discord_gets_content_and_a_coloured_embed() {
    let request = deliver_one("discord", json!({"url": "/discord"}), &note("ok")).await;
    assert_eq!(
        body_json(&request),
        json!({"content": "Orders dropped went back to normal", "embeds": [{"color": 2_600_544, "fields": [
            {"name": "Query", "value": "https://bi.example.com/queries/3", "inline": true},
            {"name": "Alert", "value": "https://bi.example.com/alerts/7", "inline": true},
        ]}]})
    );
}

#[tokio::test]
async fn google_chat_gets_a_card_with_an_open_query_button() {
    let request =
        deliver_one("hangouts_chat", json!({"url": "/chat", "icon_url": "https://x/i.png"}), &note("triggered")).await;
    let body = body_json(&request);
    let card = &body["cards"][0];
    assert_eq!(card["header"], json!({"title": "Orders dropped", "imageUrl": "https://x/i.png"}));
    let widgets = &card["sections"][0]["widgets"];
    assert_eq!(widgets[0]["textParagraph"]["text"], "<b><font color=\"#c0392b\">Triggered</font></b>");
    assert_eq!(widgets[1]["buttons"][0]["textButton"]["text"], "OPEN QUERY");
    assert_eq!(
        widgets[1]["buttons"][0]["textButton"]["onClick"]["openLink"]["url"],
        "https://bi.example.com/queries/3"
    );
}

#[tokio::test]
async fn teams_gets_a_message_card_with_values_filled_in() {
    let request = deliver_one("microsoft_teams_webhook", json!({"url": "/teams"}), &note("triggered")).await;
    let body = body_json(&request);
    assert_eq!(body["@type"], "MessageCard");
    let facts = &body["sections"][0]["facts"];
    assert_eq!(facts[0], json!({"name": "Alert Name", "value": "Orders dropped"}));
    assert_eq!(facts[1], json!({"name": "Alert URL", "value": "https://bi.example.com/alerts/7"}));
    // Quotes in the query text stay valid JSON.
    assert_eq!(facts[2], json!({"name": "Query", "value": "SELECT \"count\" FROM orders"}));
    assert_eq!(facts[3], json!({"name": "Query URL", "value": "https://bi.example.com/queries/3"}));
}

#[tokio::test]
async fn pagerduty_triggers_and_resolves_under_one_dedup_key_and_skips_unknown() {
    let key = json!({"integration_key": "routing-123"});
    let request = deliver_one("pagerduty", key.clone(), &note("triggered")).await;
    assert_eq!(request.target, "/pagerduty/v2/enqueue");
    assert_eq!(
        body_json(&request),
        json!({"routing_key": "routing-123", "incident_key": "7_3", "dedup_key": "7_3", "event_action": "trigger",
               "payload": {"summary": "Alert: Orders dropped", "severity": "error", "source": "redash"}})
    );
    let request =
        deliver_one("pagerduty", json!({"integration_key": "k", "description": "Orders"}), &with_texts(note("ok")))
            .await;
    let body = body_json(&request);
    assert_eq!(body["event_action"], "resolve");
    assert_eq!(body["payload"]["summary"], "Orders &lt; 10");
    assert_eq!(body["payload"]["custom_details"], "Only 4 orders");

    let sink = HttpSink::start().await;
    send(&outbound_to(&sink), "pagerduty", &options(key), &note("unknown")).await.expect("nothing to send is fine");
    assert!(sink.received().is_empty());
}

#[tokio::test]
async fn chatwork_posts_the_filled_template_as_a_form_with_the_token_header() {
    let options =
        json!({"api_token": "tok", "room_id": "42", "message_template": "{alert_name} is {new_state}\\n{alert_url}"});
    let request = deliver_one("chatwork", options, &note("triggered")).await;
    assert_eq!(request.target, "/chatwork/rooms/42/messages");
    assert_eq!(request.header("x-chatworktoken"), Some("tok"));
    assert_eq!(request.header("content-type"), Some("application/x-www-form-urlencoded"));
    assert_eq!(
        form(&request),
        vec![("body".to_owned(), "Orders dropped is TRIGGERED\nhttps://bi.example.com/alerts/7".to_owned())]
    );
}

#[tokio::test]
async fn asana_creates_a_task_in_the_project_with_a_bearer_token() {
    let request = deliver_one("asana", json!({"pat": "pat-1", "project_id": "99"}), &note("triggered")).await;
    assert_eq!(request.target, "/asana/tasks");
    assert_eq!(request.header("authorization"), Some("Bearer pat-1"));
    let fields = form(&request);
    assert_eq!(fields[0], ("name".to_owned(), "[Redash Alert] TRIGGERED: Orders dropped".to_owned()));
    assert_eq!(
        fields[1].1,
        "Orders dropped has TRIGGERED.\nQuery: https://bi.example.com/queries/3\nAlert: https://bi.example.com/alerts/7"
    );
    assert_eq!(fields[2], ("projects".to_owned(), "99".to_owned()));
}

#[tokio::test]
async fn datadog_posts_an_event_with_tags_and_the_api_key_header() {
    let request = deliver_one(
        "datadog",
        json!({"api_key": "dd", "tags": "team:bi,env:prod", "priority": "low"}),
        &note("triggered"),
    )
    .await;
    assert_eq!(request.target, "/datadog/api/v1/events");
    assert_eq!(request.header("dd-api-key"), Some("dd"));
    let body = body_json(&request);
    assert_eq!(body["title"], "Orders dropped just triggered");
    assert_eq!(body["alert_type"], "error");
    assert_eq!(body["priority"], "low");
    assert_eq!(body["aggregation_key"], "redash:https://bi.example.com/alerts/7");
    assert_eq!(body["tags"], json!(["team:bi", "env:prod", "redash", "query_id:3", "alert_id:7"]));
    assert_eq!(
        body["text"],
        "Orders dropped changed state to triggered.\nQuery: https://bi.example.com/queries/3\nAlert: https://bi.example.com/alerts/7"
    );
}

#[tokio::test]
async fn webex_posts_one_message_per_person_and_room() {
    let sink = HttpSink::start().await;
    let options =
        options(json!({"webex_bot_token": "bot", "to_person_emails": "a@x.com, b@x.com", "to_room_ids": "room1"}));
    send(&outbound_to(&sink), "webex", &options, &with_texts(note("triggered"))).await.expect("delivered");
    let received = sink.wait_for(3, WAIT).await;
    assert_eq!(received.len(), 3);
    let bodies: Vec<Value> = received.iter().map(body_json).collect();
    assert_eq!(bodies[0]["toPersonEmail"], "a@x.com");
    assert_eq!(bodies[1]["toPersonEmail"], "b@x.com");
    assert_eq!(bodies[2]["roomId"], "room1");
    assert_eq!(bodies[0]["markdown"], "Orders &lt; 10\nOnly 4 orders");
    assert_eq!(bodies[0]["attachments"][0]["contentType"], "application/vnd.microsoft.card.adaptive");
    assert_eq!(bodies[0]["attachments"][0]["content"]["type"], "AdaptiveCard");
    assert!(received.iter().all(|request| request.header("authorization") == Some("Bearer bot")));
}

#[tokio::test]
async fn email_reaches_a_real_smtp_listener() {
    let smtp = SmtpSink::start().await;
    let mail = MailSettings {
        server: "127.0.0.1".into(),
        port: smtp.port,
        use_tls: false,
        use_ssl: false,
        username: None,
        password: None,
        sender: "dashi@example.com".into(),
    };
    let outbound = Outbound::new(Some(mail), Endpoints::default()).expect("outbound");
    let addresses = options(json!({"addresses": "ops@example.com, bi@example.com"}));
    send(&outbound, "email", &addresses, &note("triggered")).await.expect("sent");
    let received = smtp.wait_for(1, WAIT).await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].from, "dashi@example.com");
    assert_eq!(received[0].to, vec!["ops@example.com", "bi@example.com"]);
    assert!(
        received[0].data.contains("Subject: Alert: Orders dropped changed status to TRIGGERED"),
        "{}",
        received[0].data
    );
    assert!(received[0].data.contains("Content-Type: text/html"), "{}", received[0].data);
    assert!(received[0].data.contains("default body"), "{}", received[0].data);

    // A custom subject and body replace the defaults.
    send(&outbound, "email", &addresses, &with_texts(note("ok"))).await.expect("sent");
    let received = smtp.wait_for(2, WAIT).await;
    assert!(received[1].data.contains("Subject: Orders &lt; 10"), "{}", received[1].data);
    assert!(received[1].data.contains("Only 4 orders"), "{}", received[1].data);
}

#[tokio::test]
async fn failures_say_whether_a_retry_can_help() {
    let sink = HttpSink::with_statuses(vec![503, 400]).await;
    let outbound = outbound_to(&sink);
    let slack = options(json!({"url": format!("{}/slack", sink.url)}));
    let first = send(&outbound, "slack", &slack, &note("triggered")).await.expect_err("503");
    assert!(matches!(first, Error::Rejected { status: 503, .. }) && first.is_retryable(), "{first:?}");
    let second = send(&outbound, "slack", &slack, &note("triggered")).await.expect_err("400");
    assert!(!second.is_retryable(), "{second:?}");

    // Nobody listening: retryable.
    let closed = options(json!({"url": "http://127.0.0.1:9/closed"}));
    assert!(send(&outbound, "slack", &closed, &note("triggered")).await.expect_err("refused").is_retryable());
    // Mail without settings, and missing options: not retryable.
    let mail =
        send(&outbound, "email", &options(json!({"addresses": "a@x.com"})), &note("ok")).await.expect_err("no mail");
    assert!(matches!(mail, Error::MailNotConfigured));
    assert!(!send(&outbound, "webhook", &Map::new(), &note("ok")).await.expect_err("no url").is_retryable());
}
