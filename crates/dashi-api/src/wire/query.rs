//! Redash's query, visualization, version and snippet dicts, and the query body a client sends.

use dashi_app::{ListedQuery, QueryDetails, QueryInput, QueryVersion, SnippetDetails, SnippetInput, is_safe_query};
use dashi_store::{Query, User, Visualization};
use serde_json::{Map, Value, json};

use super::{optional_time, time, user_json};
use crate::error::ApiError;

/// The fields every query dict has, in Redash's order.
pub(crate) fn base_json(query: &Query) -> Map<String, Value> {
    let dict = json!({
        "id": query.id.0,
        "latest_query_data_id": query.latest_query_data_id,
        "name": query.name,
        "description": query.description,
        "query": query.query_text,
        "query_hash": query.query_hash,
        "schedule": query.schedule,
        // Redash compat: everyone who can read a query sees its key (it only reads results).
        "api_key": query.api_key,
        "is_archived": query.is_archived,
        "is_draft": query.is_draft,
        "updated_at": time(query.updated_at),
        "created_at": time(query.created_at),
        "data_source_id": query.data_source_id.map(|id| id.0),
        "options": query.options,
        "version": query.version,
        "tags": query.tags,
        "is_safe": is_safe_query(query),
    });
    match dict {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn user_or_null(user: Option<&User>) -> Value {
    user.map(|user| user_json(user, None, false)).unwrap_or(Value::Null)
}

/// A visualization without its query, as nested in a query dict.
pub(crate) fn visualization_json(visualization: &Visualization) -> Value {
    json!({
        "id": visualization.id.0,
        "type": visualization.type_name,
        "name": visualization.name,
        "description": visualization.description,
        "options": visualization.options,
        "updated_at": time(visualization.updated_at),
        "created_at": time(visualization.created_at),
    })
}

/// One query (`GET/POST /api/queries/<id>`, create, fork): with `user`, `last_modified_by`,
/// `visualizations`, `is_favorite` and `can_edit`.
pub(crate) fn query_details_json(details: &QueryDetails) -> Value {
    let mut dict = base_json(&details.query);
    dict.insert("user".into(), user_or_null(details.owner.as_ref()));
    dict.insert("last_modified_by".into(), user_or_null(details.last_modified_by.as_ref()));
    dict.insert("visualizations".into(), details.visualizations.iter().map(visualization_json).collect());
    dict.insert("is_favorite".into(), json!(details.is_favorite));
    dict.insert("can_edit".into(), json!(details.can_edit));
    Value::Object(dict)
}

/// A query in a paginated list: with `user`, `last_modified_by_id`, the latest result's
/// `retrieved_at` and `runtime`, and the caller's `is_favorite` and `starred_at`.
pub(crate) fn listed_query_json(item: &ListedQuery) -> Value {
    let listing = &item.listing;
    let mut dict = base_json(&listing.query);
    dict.insert("user".into(), user_or_null(item.owner.as_ref()));
    dict.insert("last_modified_by_id".into(), json!(listing.query.last_modified_by_id.map(|id| id.0)));
    dict.insert("retrieved_at".into(), optional_time(listing.retrieved_at));
    dict.insert("runtime".into(), json!(listing.runtime));
    dict.insert("is_favorite".into(), json!(listing.starred_at.is_some()));
    dict.insert("starred_at".into(), optional_time(listing.starred_at));
    Value::Object(dict)
}

/// A query in `GET /api/queries/recent`: ids instead of user dicts, as Redash serializes it.
pub(crate) fn recent_query_json(item: &ListedQuery) -> Value {
    let query = &item.listing.query;
    let mut dict = base_json(query);
    dict.insert("user_id".into(), json!(query.user_id.0));
    dict.insert("last_modified_by_id".into(), json!(query.last_modified_by_id.map(|id| id.0)));
    dict.insert("is_favorite".into(), json!(item.listing.starred_at.is_some()));
    Value::Object(dict)
}

/// One entry of a query's history, shaped like Redash's change dict.
pub(crate) fn query_version_json(version: &QueryVersion) -> Value {
    let change = &version.change;
    json!({
        "id": change.id,
        "object_id": change.object_id,
        "object_type": change.object_type,
        "object_version": change.object_version,
        "change": change.change,
        "created_at": time(change.created_at),
        "user": user_or_null(version.user.as_ref()),
    })
}

/// Redash's snippet dict.
pub(crate) fn snippet_json(details: &SnippetDetails) -> Value {
    let snippet = &details.snippet;
    json!({
        "id": snippet.id.0,
        "trigger": snippet.trigger,
        "description": snippet.description,
        "snippet": snippet.snippet,
        "user": user_or_null(details.user.as_ref()),
        "updated_at": time(snippet.updated_at),
        "created_at": time(snippet.created_at),
    })
}

fn object(body: Value) -> Result<Map<String, Value>, ApiError> {
    match body {
        Value::Object(map) => Ok(map),
        _ => Err(ApiError::bad_request("The request body must be a JSON object.")),
    }
}

fn string(body: &Map<String, Value>, field: &str) -> Result<Option<String>, ApiError> {
    match body.get(field) {
        None => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(ApiError::bad_request(format!("{field} must be a string."))),
    }
}

/// An integer field; `null` counts as not sent.
fn integer(body: &Map<String, Value>, field: &str) -> Result<Option<i64>, ApiError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value.as_i64().map(Some).ok_or_else(|| ApiError::bad_request(format!("{field} must be an integer."))),
    }
}

fn boolean(body: &Map<String, Value>, field: &str) -> Result<Option<bool>, ApiError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(flag)) => Ok(Some(*flag)),
        Some(_) => Err(ApiError::bad_request(format!("{field} must be true or false."))),
    }
}

/// The body of `POST /api/queries` and `POST /api/queries/<id>`. Fields Redash ignores (`id`,
/// `user`, `api_key`, `visualizations`, …) are ignored here too.
pub(crate) fn query_input(body: Value) -> Result<QueryInput, ApiError> {
    let body = object(body)?;
    let description = match body.get("description") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(text)) => Some(Some(text.clone())),
        Some(_) => return Err(ApiError::bad_request("description must be a string.")),
    };
    Ok(QueryInput {
        data_source_id: integer(&body, "data_source_id")?,
        name: string(&body, "name")?,
        description,
        query_text: string(&body, "query")?,
        schedule: body.get("schedule").cloned(),
        options: body.get("options").cloned(),
        tags: body.get("tags").cloned(),
        is_draft: boolean(&body, "is_draft")?,
        is_archived: boolean(&body, "is_archived")?,
        version: integer(&body, "version")?,
        latest_query_data_id: integer(&body, "latest_query_data_id")?,
    })
}

/// The body of `POST /api/query_snippets[/<id>]`.
pub(crate) fn snippet_input(body: Value) -> Result<SnippetInput, ApiError> {
    let body = object(body)?;
    Ok(SnippetInput {
        trigger: string(&body, "trigger")?,
        description: string(&body, "description")?,
        snippet: string(&body, "snippet")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_bodies_are_typed_with_clear_messages() {
        let input = query_input(json!({"data_source_id": 3, "name": "n", "description": null, "id": 9, "user": {}})).unwrap();
        assert_eq!(input.data_source_id, Some(3));
        assert_eq!(input.description, Some(None));
        assert!(input.query_text.is_none());
        let message = |body: Value| query_input(body).unwrap_err().message().to_owned();
        assert_eq!(message(json!([])), "The request body must be a JSON object.");
        assert_eq!(message(json!({"data_source_id": "one"})), "data_source_id must be an integer.");
        assert_eq!(message(json!({"name": 5})), "name must be a string.");
        assert_eq!(message(json!({"is_draft": "no"})), "is_draft must be true or false.");
        assert_eq!(message(json!({"version": 1.5})), "version must be an integer.");
    }
}
