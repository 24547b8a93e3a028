//! Query snippets: any member reads and creates them; the author and admins change or delete
//! them (Redash's `require_admin_or_owner`). A trigger already taken is a 400.

use chrono::Utc;
use dashi_store::{QuerySnippet, SnippetFields, SnippetId, User};

use crate::actor::Actor;
use crate::{App, Error, Result};

/// What a caller sends to create or change a snippet; `None` means "not sent".
#[derive(Debug, Clone, Default)]
pub struct SnippetInput {
    pub trigger: Option<String>,
    pub description: Option<String>,
    pub snippet: Option<String>,
}

/// A snippet with its author.
#[derive(Debug, Clone)]
pub struct SnippetDetails {
    pub snippet: QuerySnippet,
    pub user: Option<User>,
}

fn taken(trigger: &str) -> Error {
    Error::invalid(format!("A snippet with the trigger \"{trigger}\" already exists."))
}

fn validated(fields: SnippetFields) -> Result<SnippetFields> {
    if fields.trigger.trim().is_empty() {
        return Err(Error::invalid("trigger must not be empty."));
    }
    if fields.trigger.chars().count() > 255 {
        return Err(Error::invalid("trigger must be at most 255 characters long."));
    }
    Ok(fields)
}

impl App {
    async fn snippet_details(&self, actor: &Actor, snippet: QuerySnippet) -> Result<SnippetDetails> {
        let user = dashi_store::user_by_id(&self.store, actor.org_id(), snippet.user_id).await?;
        Ok(SnippetDetails { snippet, user })
    }

    async fn snippet_in_org(&self, actor: &Actor, id: SnippetId) -> Result<QuerySnippet> {
        dashi_store::snippet_by_id(&self.store, actor.org_id(), id).await?.ok_or(Error::NotFound("query snippet"))
    }

    fn require_snippet_owner(actor: &Actor, snippet: &QuerySnippet) -> Result<()> {
        if actor.is_admin() || actor.user_id() == snippet.user_id {
            Ok(())
        } else {
            Err(Error::Forbidden("You don't have permission to edit this resource.".into()))
        }
    }

    /// `GET /api/query_snippets`: every snippet of the organization.
    pub async fn list_snippets(&self, actor: &Actor) -> Result<Vec<SnippetDetails>> {
        let snippets = dashi_store::list_snippets(&self.store, actor.org_id()).await?;
        let mut details = Vec::with_capacity(snippets.len());
        for snippet in snippets {
            details.push(self.snippet_details(actor, snippet).await?);
        }
        Ok(details)
    }

    /// `GET /api/query_snippets/<id>`.
    pub async fn get_snippet(&self, actor: &Actor, id: SnippetId) -> Result<SnippetDetails> {
        let snippet = self.snippet_in_org(actor, id).await?;
        self.snippet_details(actor, snippet).await
    }

    /// `POST /api/query_snippets`: `trigger`, `description` and `snippet` are all required.
    pub async fn create_snippet(&self, actor: &Actor, input: &SnippetInput) -> Result<SnippetDetails> {
        let required = |value: &Option<String>, field: &str| {
            value.clone().ok_or_else(|| Error::invalid(format!("{field} is required.")))
        };
        let fields = validated(SnippetFields {
            trigger: required(&input.trigger, "trigger")?,
            description: required(&input.description, "description")?,
            snippet: required(&input.snippet, "snippet")?,
        })?;
        let snippet = match dashi_store::insert_snippet(&self.store, actor.org_id(), actor.user_id(), &fields, Utc::now()).await {
            Err(dashi_store::Error::Duplicate { .. }) => return Err(taken(&fields.trigger)),
            other => other?,
        };
        self.record_event(actor.org_id(), Some(&actor.user), "create", "query_snippet", Some(snippet.id.to_string())).await?;
        self.snippet_details(actor, snippet).await
    }

    /// `POST /api/query_snippets/<id>`: the author or an admin changes what the input names.
    pub async fn update_snippet(&self, actor: &Actor, id: SnippetId, input: &SnippetInput) -> Result<SnippetDetails> {
        let current = self.snippet_in_org(actor, id).await?;
        Self::require_snippet_owner(actor, &current)?;
        let fields = validated(SnippetFields {
            trigger: input.trigger.clone().unwrap_or(current.trigger),
            description: input.description.clone().unwrap_or(current.description),
            snippet: input.snippet.clone().unwrap_or(current.snippet),
        })?;
        match dashi_store::update_snippet(&self.store, id, &fields, Utc::now()).await {
            Err(dashi_store::Error::Duplicate { .. }) => return Err(taken(&fields.trigger)),
            other => other?,
        }
        self.record_event(actor.org_id(), Some(&actor.user), "edit", "query_snippet", Some(id.to_string())).await?;
        self.get_snippet(actor, id).await
    }

    /// `DELETE /api/query_snippets/<id>`: the author or an admin.
    pub async fn delete_snippet(&self, actor: &Actor, id: SnippetId) -> Result<()> {
        let current = self.snippet_in_org(actor, id).await?;
        Self::require_snippet_owner(actor, &current)?;
        dashi_store::delete_snippet(&self.store, id).await?;
        self.record_event(actor.org_id(), Some(&actor.user), "delete", "query_snippet", Some(id.to_string())).await?;
        Ok(())
    }
}
