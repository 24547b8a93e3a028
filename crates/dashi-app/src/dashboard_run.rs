//! A dashboard's parameters and the refresh of all its widgets.
//!
//! Each widget maps its query's parameters (`options.parameterMappings`, Redash's shape):
//! `dashboard-level` to a dashboard parameter named by `mapTo`, `static-value` to a fixed
//! `value`, or `widget-level` (also when unmapped) to the query's own default. Values travel by
//! name, never by position (Redash #4289: two queries whose parameters are declared in different
//! orders must both get the value meant for them).

use dashi_core::{Classify, Fault, ParameterDefinition, Parameters, Permission};
use dashi_store::{DashboardId, QueryId, WidgetId};
use serde_json::{Map, Value};

use crate::actor::Actor;
use crate::dashboard::WidgetView;
use crate::execute::ExecuteOutcome;
use crate::saved_run::SavedRunRequest;
use crate::{App, Result};

/// Where one query parameter of a widget takes its value from.
#[derive(Debug, Clone, PartialEq)]
enum Mapping {
    Dashboard(String),
    Static(Value),
    Widget,
}

/// Redash's mapping of `parameter` in a widget's options; unmapped means widget-level.
fn mapping_of(options: &Value, parameter: &str) -> Mapping {
    let Some(entry) = options.get("parameterMappings").and_then(|mappings| mappings.get(parameter)) else {
        return Mapping::Widget;
    };
    match entry.get("type").and_then(Value::as_str) {
        Some("dashboard-level") => {
            let name = entry.get("mapTo").and_then(Value::as_str).filter(|name| !name.is_empty()).unwrap_or(parameter);
            Mapping::Dashboard(name.to_owned())
        }
        Some("static-value") => Mapping::Static(entry.get("value").cloned().unwrap_or(Value::Null)),
        _ => Mapping::Widget,
    }
}

/// A query parameter of a widget that a dashboard parameter feeds.
#[derive(Debug, Clone)]
pub struct MappedParameter {
    pub widget_id: WidgetId,
    pub query_id: QueryId,
    /// The parameter's name in the query.
    pub parameter: String,
}

/// One dashboard-level parameter: its name, the definition of the first query parameter mapped
/// to it (type, title, default), and every widget parameter it feeds.
#[derive(Debug, Clone)]
pub struct DashboardParameter {
    pub name: String,
    pub definition: ParameterDefinition,
    pub mapped: Vec<MappedParameter>,
}

/// What refreshing one widget did.
#[derive(Debug)]
pub struct WidgetRun {
    pub widget_id: WidgetId,
    pub query_id: QueryId,
    /// The run, or why it was refused (a message for the caller).
    pub outcome: std::result::Result<ExecuteOutcome, String>,
}

/// A widget showing a query the reader may see, with the query's parameter definitions.
struct RunnableWidget {
    widget_id: WidgetId,
    options: Value,
    query_id: QueryId,
    definitions: Vec<ParameterDefinition>,
}

impl App {
    async fn runnable_widgets(&self, actor: &Actor, id: DashboardId) -> Result<Vec<RunnableWidget>> {
        actor.require(Permission::ListDashboards)?;
        let dashboard = self.dashboard_in_org(actor, id).await?;
        let mut runnable = Vec::new();
        for widget in dashi_store::widgets_of(&self.store, dashboard.id).await? {
            let WidgetView { widget, visualization, restricted } = self.widget_view(actor, widget).await?;
            let (false, Some(shown)) = (restricted, visualization) else { continue };
            let definitions = Parameters::from_query_options(&Value::Object(shown.query.options.clone()))
                .map(|parameters| parameters.definitions().to_vec())
                .unwrap_or_default();
            runnable.push(RunnableWidget {
                widget_id: widget.id,
                options: widget.options,
                query_id: shown.query.id,
                definitions,
            });
        }
        Ok(runnable)
    }

    /// `GET /api/dashboards/<id>/parameters` (ours): the dashboard-level parameters, in the
    /// order of `options.globalParamOrder` and then of first appearance.
    pub async fn dashboard_parameters(&self, actor: &Actor, id: DashboardId) -> Result<Vec<DashboardParameter>> {
        let order: Vec<String> = self
            .dashboard_in_org(actor, id)
            .await?
            .fields
            .options
            .get("globalParamOrder")
            .and_then(Value::as_array)
            .map(|names| names.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default();
        let mut parameters: Vec<DashboardParameter> = Vec::new();
        for widget in self.runnable_widgets(actor, id).await? {
            for definition in &widget.definitions {
                let Mapping::Dashboard(name) = mapping_of(&widget.options, &definition.name) else { continue };
                let mapped = MappedParameter {
                    widget_id: widget.widget_id,
                    query_id: widget.query_id,
                    parameter: definition.name.clone(),
                };
                match parameters.iter_mut().find(|parameter| parameter.name == name) {
                    Some(parameter) => parameter.mapped.push(mapped),
                    None => parameters.push(DashboardParameter {
                        definition: ParameterDefinition { name: name.clone(), ..definition.clone() },
                        name,
                        mapped: vec![mapped],
                    }),
                }
            }
        }
        parameters.sort_by_key(|parameter| order.iter().position(|name| *name == parameter.name).unwrap_or(usize::MAX));
        Ok(parameters)
    }

    /// `POST /api/dashboards/<id>/refresh` (ours): runs every widget's query the actor may see,
    /// each with its parameters taken from `values` (by dashboard parameter name), its static
    /// values, or its query's defaults. A widget the actor may not run is reported, not fatal.
    pub async fn refresh_dashboard(
        &self,
        actor: &Actor,
        id: DashboardId,
        values: &Map<String, Value>,
        max_age: i64,
    ) -> Result<Vec<WidgetRun>> {
        let mut runs = Vec::new();
        for widget in self.runnable_widgets(actor, id).await? {
            let mut parameters = Map::new();
            for definition in &widget.definitions {
                let value = match mapping_of(&widget.options, &definition.name) {
                    Mapping::Dashboard(name) => values.get(&name).cloned(),
                    Mapping::Static(value) => Some(value),
                    Mapping::Widget => None,
                };
                if let Some(value) = value {
                    parameters.insert(definition.name.clone(), value);
                }
            }
            let request = SavedRunRequest { parameters, max_age, apply_auto_limit: None };
            let outcome = match self.execute_saved(actor, widget.query_id, &request).await {
                Ok(outcome) => Ok(outcome),
                Err(error) if matches!(error.fault(), Fault::Internal | Fault::Unavailable) => return Err(error),
                Err(error) => Err(error.to_string()),
            };
            runs.push(WidgetRun { widget_id: widget.widget_id, query_id: widget.query_id, outcome });
        }
        Ok(runs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn mappings_follow_redash_and_default_to_widget_level() {
        let options = json!({"parameterMappings": {
            "a": {"name": "a", "type": "dashboard-level", "mapTo": "country", "value": null, "title": ""},
            "b": {"name": "b", "type": "dashboard-level", "mapTo": "", "value": null, "title": ""},
            "c": {"name": "c", "type": "static-value", "mapTo": "c", "value": 7, "title": ""},
            "d": {"name": "d", "type": "widget-level", "mapTo": "d", "value": null, "title": ""},
        }});
        assert_eq!(mapping_of(&options, "a"), Mapping::Dashboard("country".into()));
        assert_eq!(mapping_of(&options, "b"), Mapping::Dashboard("b".into()));
        assert_eq!(mapping_of(&options, "c"), Mapping::Static(json!(7)));
        assert_eq!(mapping_of(&options, "d"), Mapping::Widget);
        assert_eq!(mapping_of(&options, "e"), Mapping::Widget);
        assert_eq!(mapping_of(&json!({}), "a"), Mapping::Widget);
    }
}
