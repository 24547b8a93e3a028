//! Running saved queries and reading their results: `POST /api/queries/<id>/results`,
//! `/refresh`, the latest result, and the values of query-based dropdowns.

use std::collections::BTreeMap;

use dashi_core::{DropdownValues, Fault, OrgId, Parameters, ParameterType, Permission};
use dashi_results::{PageRequest, Storage};
use dashi_store::{Query, QueryId, QueryResult};
use serde_json::{Map, Value};

use crate::actor::Actor;
use crate::data_source::Access;
use crate::execute::{ExecuteOutcome, RunText, parameter_error};
use crate::query::{VisibleQuery, is_safe_query};
use crate::{App, Error, Result};

/// Most rows read from a dropdown query's result (dropdowns are short lists in practice).
const DROPDOWN_ROWS: u64 = 10_000;

/// `POST /api/queries/<id>/results`.
#[derive(Debug, Clone, Default)]
pub struct SavedRunRequest {
    pub parameters: Map<String, Value>,
    /// Redash's `max_age` (default -1: any cached result).
    pub max_age: i64,
    /// Overrides the query's own `options.apply_auto_limit` when given.
    pub apply_auto_limit: Option<bool>,
}

/// One entry of a dropdown: Redash's `{name, value}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DropdownOption {
    pub name: String,
    pub value: String,
}

fn refused(fault: Fault, message: &str) -> Error {
    Error::RunRefused { fault, message: message.to_owned() }
}

/// The stored bytes of a result.
pub fn storage_of(result: &QueryResult) -> Option<Storage> {
    Storage::from_parts(result.inline_data.as_deref(), result.location.as_deref())
}

/// Redash's text of a cell in a dropdown (numbers without a trailing `.0` when whole).
fn cell_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => "None".into(),
        Value::Bool(flag) => if *flag { "True".into() } else { "False".into() },
        other => other.to_string(),
    }
}

impl App {
    fn require_read(actor: &Actor) -> Result<()> {
        if actor.has(Permission::ViewQuery) || actor.has(Permission::ExecuteQuery) { Ok(()) } else { Err(Error::forbidden()) }
    }

    /// Runs a saved query with its definitions' checks and defaults. View-only access suffices
    /// for safe queries only (Redash's rule).
    pub async fn execute_saved(&self, actor: &Actor, id: QueryId, request: &SavedRunRequest) -> Result<ExecuteOutcome> {
        Self::require_read(actor)?;
        let VisibleQuery { query, data_source, access } = self.visible_query(actor, id).await?;
        let data_source = data_source.ok_or_else(|| refused(Fault::Invalid, "Target data source not available."))?;
        if access == Access::ViewOnly && !is_safe_query(&query) {
            return Err(refused(
                Fault::Forbidden,
                "This query contains potentially unsafe parameters and cannot be executed with read-only access to this data source.",
            ));
        }
        let parameters = Parameters::from_query_options(&Value::Object(query.options.clone())).map_err(parameter_error)?;
        let dropdowns = self.dropdowns_for(actor.org_id(), &parameters).await?;
        let auto_limit = request
            .apply_auto_limit
            .unwrap_or_else(|| query.options.get("apply_auto_limit").and_then(Value::as_bool).unwrap_or(false));
        let run = RunText {
            text: &query.query_text,
            parameters: &parameters,
            values: &request.parameters,
            dropdowns: &dropdowns,
            query_id: Some(query.id.0),
            max_age: request.max_age,
            auto_limit,
        };
        self.run_query_text(actor, &data_source, run).await
    }

    /// `POST /api/queries/<id>/refresh`: runs now (never cached); needs full access.
    pub async fn refresh_query(&self, actor: &Actor, id: QueryId, parameters: Map<String, Value>) -> Result<ExecuteOutcome> {
        let visible = self.visible_query(actor, id).await?;
        if visible.access != Access::Full {
            return Err(refused(Fault::Forbidden, "You do not have permission to run queries with this data source."));
        }
        self.execute_saved(actor, id, &SavedRunRequest { parameters, max_age: 0, apply_auto_limit: None }).await
    }

    /// Allowed values of each query-based dropdown parameter.
    pub(crate) async fn dropdowns_for(&self, org: OrgId, parameters: &Parameters) -> Result<BTreeMap<String, DropdownValues>> {
        let mut dropdowns = BTreeMap::new();
        for definition in parameters.definitions() {
            if definition.kind != ParameterType::Query {
                continue;
            }
            let Some(dropdown_id) = definition.dropdown_query_id() else { continue };
            let values = match dashi_store::query_by_id(&self.store, org, QueryId(dropdown_id)).await? {
                Some(source) if source.data_source_id.is_some() => DropdownValues::Values(
                    self.dropdown_options_of(&source).await?.into_iter().map(|option| option.value).collect(),
                ),
                _ => DropdownValues::Detached { query_id: dropdown_id },
            };
            dropdowns.insert(definition.name.clone(), values);
        }
        Ok(dropdowns)
    }

    /// Redash's dropdown values from a query's latest result: the `name` column (else the
    /// first) labels, the `value` column (else the first) is the value, as text.
    async fn dropdown_options_of(&self, query: &Query) -> Result<Vec<DropdownOption>> {
        let Some(result_id) = query.latest_query_data_id else {
            return Ok(Vec::new());
        };
        let Some(result) = dashi_store::query_result_by_id(&self.store, query.org_id, result_id).await? else {
            return Ok(Vec::new());
        };
        let Some(storage) = storage_of(&result) else {
            return Ok(Vec::new());
        };
        let page = self
            .results()?
            .page(&storage, &PageRequest { offset: 0, limit: DROPDOWN_ROWS, sort: None })
            .await
            .map_err(|error| Error::Invalid(format!("The dropdown query's result cannot be read: {error}")))?;
        let position = |wanted: &str| page.columns.iter().position(|column| column.name.to_lowercase() == wanted).unwrap_or(0);
        let (name_at, value_at) = (position("name"), position("value"));
        Ok(page
            .rows
            .iter()
            .filter(|row| !row.is_empty())
            .map(|row| DropdownOption {
                name: cell_text(row.get(name_at).unwrap_or(&Value::Null)),
                value: cell_text(row.get(value_at).unwrap_or(&Value::Null)),
            })
            .collect())
    }

    /// `GET /api/queries/<id>/dropdown`: this query's values as a dropdown.
    pub async fn query_dropdown(&self, actor: &Actor, id: QueryId) -> Result<Vec<DropdownOption>> {
        let visible = self.visible_query(actor, id).await?;
        self.dropdown_options_of(&visible.query).await
    }

    /// `GET /api/queries/<id>/dropdowns/<dropdown_id>`: the values of a dropdown parameter of
    /// query `id`. Reading the parent suffices when the dropdown query feeds one of its
    /// parameters; otherwise the dropdown query must be readable itself.
    pub async fn parameter_dropdown(&self, actor: &Actor, id: QueryId, dropdown_id: QueryId) -> Result<Vec<DropdownOption>> {
        let parent = self.visible_query(actor, id).await?;
        let parameters = Parameters::from_query_options(&Value::Object(parent.query.options.clone())).map_err(parameter_error)?;
        let feeds_parent = parameters.definitions().iter().any(|definition| definition.dropdown_query_id() == Some(dropdown_id.0));
        let dropdown = if feeds_parent {
            dashi_store::query_by_id(&self.store, actor.org_id(), dropdown_id).await?.ok_or(Error::NotFound("query"))?
        } else {
            self.visible_query(actor, dropdown_id).await?.query
        };
        self.dropdown_options_of(&dropdown).await
    }

    /// The latest result of a saved query (`GET /api/queries/<id>/results`), or a given one of
    /// its results; 404 "No cached result found for this query." when there is none.
    pub async fn saved_query_result(&self, actor: &Actor, id: QueryId, result_id: Option<i64>) -> Result<(Query, QueryResult)> {
        Self::require_read(actor)?;
        let visible = self.visible_query(actor, id).await?;
        let wanted = result_id.or(visible.query.latest_query_data_id);
        let no_result = || Error::NotFoundMessage("No cached result found for this query.".into());
        let wanted = wanted.ok_or_else(no_result)?;
        let result = dashi_store::query_result_by_id(&self.store, actor.org_id(), wanted).await?.ok_or_else(no_result)?;
        if Some(result.data_source_id) != visible.query.data_source_id && result_id.is_some() {
            return Err(no_result());
        }
        Ok((visible.query, result))
    }
}
