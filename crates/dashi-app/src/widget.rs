//! Widgets: placing visualizations and text boxes on a dashboard, moving and removing them.
//!
//! Redash's rules (facts §2.6): `edit_dashboard` and `can_modify` on the dashboard; a
//! visualization widget also needs read access to the visualization's query, so nobody can put
//! a query they cannot see on a board. `options` (grid position, parameter mappings, …) is the
//! client's document, kept as given.

use chrono::Utc;
use dashi_store::{DashboardId, NewWidget, VisualizationId, WidgetId};
use serde_json::Value;

use crate::actor::Actor;
use crate::dashboard::WidgetView;
use crate::{App, Error, Result};

/// `POST /api/widgets`: what to place where.
#[derive(Debug, Clone)]
pub struct WidgetInput {
    pub dashboard_id: i64,
    /// `None`: a text box.
    pub visualization_id: Option<i64>,
    pub text: Option<String>,
    pub width: Option<i64>,
    pub options: Option<Value>,
}

fn checked_options(options: Option<&Value>) -> Result<Value> {
    match options {
        None | Some(Value::Null) => Ok(Value::Object(Default::default())),
        Some(options @ Value::Object(_)) => Ok(options.clone()),
        Some(_) => Err(Error::invalid("options must be a JSON object.")),
    }
}

impl App {
    /// `POST /api/widgets`.
    pub async fn create_widget(&self, actor: &Actor, input: &WidgetInput) -> Result<WidgetView> {
        let options = checked_options(input.options.as_ref())?;
        if input.visualization_id.is_none() && input.text.is_none() {
            return Err(Error::invalid("A widget needs a visualization_id or a text."));
        }
        let dashboard = self.editable_dashboard(actor, DashboardId(input.dashboard_id)).await?;
        let visualization_id = match input.visualization_id {
            Some(id) => {
                let visualization = dashi_store::visualization_by_id(&self.store, actor.org_id(), VisualizationId(id))
                    .await?
                    .ok_or_else(|| Error::invalid(format!("Visualization {id} does not exist.")))?;
                self.visible_query(actor, visualization.query_id).await?;
                Some(visualization.id)
            }
            None => None,
        };
        let new = NewWidget {
            dashboard_id: dashboard.id,
            visualization_id,
            text: input.text.clone(),
            width: input.width.unwrap_or(1),
            options,
        };
        let widget = dashi_store::insert_widget(&self.store, &new, Utc::now()).await?;
        self.record_event(actor.org_id(), Some(&actor.user), "create", "widget", Some(widget.id.to_string())).await?;
        self.widget_view(actor, widget).await
    }

    async fn editable_widget(&self, actor: &Actor, id: WidgetId) -> Result<dashi_store::Widget> {
        let widget =
            dashi_store::widget_by_id(&self.store, actor.org_id(), id).await?.ok_or(Error::NotFound("widget"))?;
        self.editable_dashboard(actor, widget.dashboard_id).await?;
        Ok(widget)
    }

    /// `POST /api/widgets/<id>`: replaces the text and options (Redash requires both).
    pub async fn update_widget(
        &self,
        actor: &Actor,
        id: WidgetId,
        text: Option<&str>,
        options: &Value,
    ) -> Result<WidgetView> {
        let options = checked_options(Some(options))?;
        self.editable_widget(actor, id).await?;
        dashi_store::update_widget(&self.store, id, text, &options, Utc::now()).await?;
        self.record_event(actor.org_id(), Some(&actor.user), "edit", "widget", Some(id.to_string())).await?;
        let widget =
            dashi_store::widget_by_id(&self.store, actor.org_id(), id).await?.ok_or(Error::NotFound("widget"))?;
        self.widget_view(actor, widget).await
    }

    /// `DELETE /api/widgets/<id>`.
    pub async fn delete_widget(&self, actor: &Actor, id: WidgetId) -> Result<()> {
        self.editable_widget(actor, id).await?;
        dashi_store::delete_widget(&self.store, id).await?;
        self.record_event(actor.org_id(), Some(&actor.user), "delete", "widget", Some(id.to_string())).await?;
        Ok(())
    }
}
