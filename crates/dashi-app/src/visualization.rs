//! Visualizations of saved queries: add, change and delete them.
//!
//! Redash's rule (facts §2.7): `edit_query` and `can_modify` on the query (admin, owner or a
//! `modify` grant). `options` is the client's document for the type and is stored exactly as
//! given; only its being a JSON object is checked.

use chrono::Utc;
use dashi_core::Permission;
use dashi_store::{NewVisualization, QueryId, Visualization, VisualizationId};
use serde_json::Value;

use crate::actor::Actor;
use crate::{App, Error, Result};

/// Redash's visualization types (its `viz-lib` registry) and the names its UI shows for them.
pub const VISUALIZATION_TYPES: [(&str, &str); 13] = [
    ("CHART", "Chart"),
    ("TABLE", "Table"),
    ("COUNTER", "Counter"),
    ("PIVOT", "Pivot Table"),
    ("COHORT", "Cohort"),
    ("FUNNEL", "Funnel"),
    ("SANKEY", "Sankey"),
    ("SUNBURST_SEQUENCE", "Sunburst Sequence"),
    ("WORD_CLOUD", "Word Cloud"),
    ("MAP", "Map (Markers)"),
    ("CHOROPLETH", "Map (Choropleth)"),
    ("BOXPLOT", "Boxplot (Deprecated)"),
    ("DETAILS", "Details View"),
];

const MAX_NAME_CHARS: usize = 255;
const MAX_DESCRIPTION_CHARS: usize = 4096;

/// What a caller sends to create or change a visualization; `None` means "not sent".
#[derive(Debug, Clone, Default)]
pub struct VisualizationInput {
    pub type_name: Option<String>,
    pub name: Option<String>,
    /// `Some(None)`: clear it.
    pub description: Option<Option<String>>,
    pub options: Option<Value>,
}

fn checked_type(type_name: &str) -> Result<String> {
    // Redash compat: Redash stores any string; we refuse types its UI cannot draw, so a typo
    // is a 400 instead of a widget that renders nothing.
    if VISUALIZATION_TYPES.iter().any(|(known, _)| *known == type_name) {
        Ok(type_name.to_owned())
    } else {
        let known: Vec<&str> = VISUALIZATION_TYPES.iter().map(|(known, _)| *known).collect();
        Err(Error::invalid(format!("Unknown visualization type {type_name:?}; use one of {}.", known.join(", "))))
    }
}

/// `fields` with the input applied, checked.
fn apply_input(mut fields: NewVisualization, input: &VisualizationInput) -> Result<NewVisualization> {
    if let Some(type_name) = &input.type_name {
        fields.type_name = checked_type(type_name)?;
    }
    if let Some(name) = &input.name {
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(Error::invalid(format!(
                "Visualization name must be at most {MAX_NAME_CHARS} characters long."
            )));
        }
        fields.name = name.clone();
    }
    if let Some(description) = &input.description {
        if description.as_deref().is_some_and(|text| text.chars().count() > MAX_DESCRIPTION_CHARS) {
            return Err(Error::invalid(format!(
                "Visualization description must be at most {MAX_DESCRIPTION_CHARS} characters long."
            )));
        }
        fields.description = description.clone();
    }
    match &input.options {
        None => {}
        Some(Value::Null) => fields.options = Value::Object(Default::default()),
        Some(options @ Value::Object(_)) => fields.options = options.clone(),
        Some(_) => return Err(Error::invalid("options must be a JSON object.")),
    }
    Ok(fields)
}

impl App {
    /// Checks that the actor may change the query's visualizations.
    async fn require_query_edit(&self, actor: &Actor, query_id: QueryId) -> Result<()> {
        actor.require(Permission::EditQuery)?;
        let query = self.query_in_org(actor, query_id).await?;
        if self.can_modify(actor, &query).await? { Ok(()) } else { Err(Error::forbidden()) }
    }

    async fn visualization_in_org(&self, actor: &Actor, id: VisualizationId) -> Result<Visualization> {
        dashi_store::visualization_by_id(&self.store, actor.org_id(), id).await?.ok_or(Error::NotFound("visualization"))
    }

    /// `POST /api/visualizations`: a new visualization of `query_id`. `type` is required; the
    /// name defaults to the type's name in Redash's UI.
    pub async fn create_visualization(
        &self,
        actor: &Actor,
        query_id: QueryId,
        input: &VisualizationInput,
    ) -> Result<Visualization> {
        let type_name = input.type_name.as_deref().ok_or_else(|| Error::invalid("type is required."))?;
        let default_name = VISUALIZATION_TYPES.iter().find(|(known, _)| *known == type_name).map(|(_, name)| *name);
        let start = NewVisualization {
            type_name: checked_type(type_name)?,
            name: default_name.unwrap_or_default().to_owned(),
            description: None,
            options: Value::Object(Default::default()),
        };
        let fields = apply_input(start, input)?;
        self.require_query_edit(actor, query_id).await?;
        let visualization = dashi_store::insert_visualization(&self.store, query_id, &fields, Utc::now()).await?;
        self.record_event(
            actor.org_id(),
            Some(&actor.user),
            "create",
            "visualization",
            Some(visualization.id.to_string()),
        )
        .await?;
        Ok(visualization)
    }

    /// `POST /api/visualizations/<id>`: changes what the input names.
    pub async fn update_visualization(
        &self,
        actor: &Actor,
        id: VisualizationId,
        input: &VisualizationInput,
    ) -> Result<Visualization> {
        let current = self.visualization_in_org(actor, id).await?;
        self.require_query_edit(actor, current.query_id).await?;
        let fields = apply_input(NewVisualization::from(&current), input)?;
        dashi_store::update_visualization(&self.store, id, &fields, Utc::now()).await?;
        self.record_event(actor.org_id(), Some(&actor.user), "edit", "visualization", Some(id.to_string())).await?;
        self.visualization_in_org(actor, id).await
    }

    /// `DELETE /api/visualizations/<id>`: the visualization and every widget showing it.
    pub async fn delete_visualization(&self, actor: &Actor, id: VisualizationId) -> Result<()> {
        let current = self.visualization_in_org(actor, id).await?;
        self.require_query_edit(actor, current.query_id).await?;
        dashi_store::delete_visualization(&self.store, id).await?;
        self.record_event(actor.org_id(), Some(&actor.user), "delete", "visualization", Some(id.to_string())).await?;
        Ok(())
    }
}
