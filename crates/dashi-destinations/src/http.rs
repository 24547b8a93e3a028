//! Posting to a service and judging its answer: any 2xx is a delivery (Redash checks one
//! status per service but only logs a mismatch); anything else is an [`Error`] that says
//! whether to retry.

use crate::Error;

/// Sends `request` for `service` and checks the status.
pub(crate) async fn deliver(service: &'static str, request: reqwest::RequestBuilder) -> Result<(), Error> {
    let response = request.send().await.map_err(|error| Error::Unreachable { service, reason: error_chain(&error) })?;
    let status = response.status();
    if status.is_success() { Ok(()) } else { Err(Error::Rejected { service, status: status.as_u16() }) }
}

/// Posts `body` as JSON to `url`.
pub(crate) fn post_json(outbound: &crate::Outbound, url: &str, body: &serde_json::Value) -> reqwest::RequestBuilder {
    outbound
        .http
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(serde_json::to_vec(body).expect("a JSON value always serialises"))
}

/// Posts `fields` as an `application/x-www-form-urlencoded` body (ChatWork, Asana).
pub(crate) fn post_form(outbound: &crate::Outbound, url: &str, fields: &[(&str, &str)]) -> reqwest::RequestBuilder {
    let body: String =
        fields.iter().map(|(key, value)| format!("{}={}", encode(key), encode(value))).collect::<Vec<_>>().join("&");
    outbound.http.post(url).header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded").body(body)
}

/// Form encoding of one key or value.
fn encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => encoded.push(byte as char),
            b' ' => encoded.push('+'),
            other => encoded.push_str(&format!("%{other:02X}")),
        }
    }
    encoded
}

/// The error with its causes (reqwest's own message alone says only "error sending request").
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_values_are_encoded() {
        assert_eq!(encode("a b&c=d\né"), "a+b%26c%3Dd%0A%C3%A9");
    }
}
