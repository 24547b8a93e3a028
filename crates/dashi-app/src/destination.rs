//! Alert destinations: admins configure them (options encrypted, secrets masked as for data
//! sources); everyone signed in may list them to subscribe an alert.

use chrono::Utc;
use dashi_destinations::Kind;
use dashi_store::{Destination, DestinationFields, DestinationId};
use serde_json::{Map, Value};

use crate::actor::Actor;
use crate::auth::required;
use crate::data_source::SECRET_MASK;
use crate::{App, Error, Result};

/// What a caller sends to create or update a destination.
#[derive(Debug, Clone)]
pub struct DestinationInput {
    pub name: String,
    pub type_name: String,
    pub options: Map<String, Value>,
}

/// The destination types, as `GET /api/destinations/types` lists them.
pub fn destination_kinds() -> &'static [Kind] {
    dashi_destinations::KINDS
}

/// The type of a stored destination, if this build knows it.
pub fn destination_kind(destination: &Destination) -> Option<&'static Kind> {
    dashi_destinations::kind(&destination.type_name)
}

fn unknown_type(type_name: &str) -> Error {
    Error::invalid(format!("Unknown destination type \"{type_name}\"."))
}

/// Checks options against the type's schema: known names, strings where strings are declared,
/// required ones present and non-empty. Nulls are dropped, as Redash does.
fn validated_options(kind: &Kind, options: &Map<String, Value>) -> Result<Map<String, Value>> {
    let schema = (kind.schema)();
    let properties = schema.get("properties").and_then(Value::as_object);
    let mut clean = Map::new();
    for (key, value) in options {
        if value.is_null() {
            continue;
        }
        let Some(declared) = properties.and_then(|properties| properties.get(key)) else {
            return Err(Error::invalid(format!("Unknown option \"{key}\" for {}.", kind.name)));
        };
        if declared.get("type").and_then(Value::as_str) == Some("string") && !value.is_string() {
            return Err(Error::invalid(format!("Option \"{key}\" must be of type string.")));
        }
        clean.insert(key.clone(), value.clone());
    }
    for field in kind.required_fields() {
        if clean.get(&field).and_then(Value::as_str).is_none_or(|value| value.trim().is_empty()) {
            return Err(Error::invalid(format!("Option \"{field}\" is required.")));
        }
    }
    Ok(clean)
}

impl App {
    /// `GET /api/destinations/types`: admins only.
    pub fn list_destination_kinds(&self, actor: &Actor) -> Result<&'static [Kind]> {
        actor.require_admin()?;
        Ok(destination_kinds())
    }

    /// `GET /api/destinations`: every destination of the organization, to anyone signed in.
    pub async fn list_destinations(&self, actor: &Actor) -> Result<Vec<Destination>> {
        Ok(dashi_store::list_destinations(&self.store, actor.org_id()).await?)
    }

    /// A destination of the actor's organization; 404 if there is none.
    pub(crate) async fn destination_in_org(&self, actor: &Actor, id: DestinationId) -> Result<Destination> {
        dashi_store::destination_by_id(&self.store, actor.org_id(), id).await?.ok_or(Error::NotFound("destination"))
    }

    /// `GET /api/destinations/<id>`: admins only.
    pub async fn get_destination(&self, actor: &Actor, id: DestinationId) -> Result<Destination> {
        actor.require_admin()?;
        self.destination_in_org(actor, id).await
    }

    /// The options with secret fields masked, as every response shows them.
    pub fn masked_destination_options(&self, destination: &Destination) -> Result<Map<String, Value>> {
        let mut options = self.cipher.decrypt(&destination.encrypted_options).map_err(|_| {
            Error::invalid("The options of this destination cannot be decrypted with the configured secret key.")
        })?;
        for secret in destination_kind(destination).map(Kind::secret_fields).unwrap_or_default() {
            if options.contains_key(&secret) {
                options.insert(secret, Value::String(SECRET_MASK.into()));
            }
        }
        Ok(options)
    }

    fn duplicate_destination(name: &str) -> Error {
        Error::invalid(format!("Alert Destination with the name {name} already exists."))
    }

    /// `POST /api/destinations`: admins create a destination.
    pub async fn create_destination(&self, actor: &Actor, input: &DestinationInput) -> Result<Destination> {
        actor.require_admin()?;
        let kind = dashi_destinations::kind(&input.type_name).ok_or_else(|| unknown_type(&input.type_name))?;
        let options = validated_options(kind, &input.options)?;
        let fields = DestinationFields {
            name: required(&input.name, "Name")?,
            type_name: kind.type_name.into(),
            encrypted_options: self.cipher.encrypt(&options),
        };
        let destination =
            match dashi_store::insert_destination(&self.store, actor.org_id(), actor.user_id(), &fields, Utc::now())
                .await
            {
                Err(dashi_store::Error::Duplicate { .. }) => return Err(Self::duplicate_destination(&fields.name)),
                other => other?,
            };
        self.record_event(actor.org_id(), Some(&actor.user), "create", "destination", Some(destination.id.to_string()))
            .await?;
        Ok(destination)
    }

    /// `POST /api/destinations/<id>`: admins update; masked secrets keep their stored values.
    pub async fn update_destination(
        &self,
        actor: &Actor,
        id: DestinationId,
        input: &DestinationInput,
    ) -> Result<Destination> {
        actor.require_admin()?;
        let current = self.destination_in_org(actor, id).await?;
        let kind = dashi_destinations::kind(&input.type_name).ok_or_else(|| unknown_type(&input.type_name))?;
        let stored = self.cipher.decrypt(&current.encrypted_options).unwrap_or_default();
        let mut options = input.options.clone();
        for secret in kind.secret_fields() {
            if options.get(&secret).and_then(Value::as_str) == Some(SECRET_MASK) {
                match stored.get(&secret) {
                    Some(value) => options.insert(secret, value.clone()),
                    None => options.remove(&secret),
                };
            }
        }
        let options = validated_options(kind, &options)?;
        let fields = DestinationFields {
            name: required(&input.name, "Name")?,
            type_name: kind.type_name.into(),
            encrypted_options: self.cipher.encrypt(&options),
        };
        match dashi_store::update_destination(&self.store, id, &fields, Utc::now()).await {
            Err(dashi_store::Error::Duplicate { .. }) => return Err(Self::duplicate_destination(&fields.name)),
            other => other?,
        }
        self.record_event(actor.org_id(), Some(&actor.user), "edit", "destination", Some(id.to_string())).await?;
        self.destination_in_org(actor, id).await
    }

    /// `DELETE /api/destinations/<id>`: admins; its subscriptions go with it.
    pub async fn delete_destination(&self, actor: &Actor, id: DestinationId) -> Result<()> {
        actor.require_admin()?;
        self.destination_in_org(actor, id).await?;
        dashi_store::delete_destination(&self.store, id).await?;
        self.record_event(actor.org_id(), Some(&actor.user), "delete", "destination", Some(id.to_string())).await?;
        Ok(())
    }
}
