//! Webhook registrations: `POST /webhooks`, `GET /webhooks`, `DELETE /webhooks/{id}`.
//! Webhooks belong to the organization; the scope needed to manage them is not documented, so
//! it is [`WEBHOOKS_SCOPE`] by default and a 403 says exactly that.

use crate::client::ApiClient;
use crate::collection::parse_collection;
use crate::error::ApiError;
use serde::Serialize;
use serde_json::{json, Value};

/// The scope this client asks for to manage webhooks (an assumption: Askara does not document
/// it). A client without it gets a 403, reported as [`ApiError::MissingScope`] naming it.
pub const WEBHOOKS_SCOPE: &str = "write:webhooks";

/// The event Askara sends when a note is generated.
pub const NEW_NOTE: &str = "new_note";

/// A registered webhook. `raw` is the JSON exactly as Askara sent it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Webhook {
    pub id: String,
    pub url: String,
    pub events: Vec<String>,
    pub active: bool,
    #[serde(skip)]
    pub raw: Value,
}

impl Webhook {
    pub fn from_json(raw: Value) -> Result<Webhook, ApiError> {
        let s = |k: &str| match raw.get(k) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        let id = s("id")
            .or_else(|| s("uuid"))
            .or_else(|| s("@id").and_then(|iri| iri.rsplit('/').next().map(str::to_string)))
            .ok_or_else(|| ApiError::bad_response("a webhook without `id`"))?;
        let events = raw
            .get("events")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        Ok(Webhook {
            id,
            url: s("url").unwrap_or_default(),
            events,
            active: raw.get("active").and_then(Value::as_bool).unwrap_or(true),
            raw,
        })
    }
}

fn scoped(e: ApiError) -> ApiError {
    match e {
        ApiError::MissingScope { .. } => ApiError::MissingScope {
            scope: WEBHOOKS_SCOPE.to_string(),
        },
        other => other,
    }
}

impl ApiClient {
    /// Registers `url` for `events` (Askara's documented body), active at once.
    pub async fn create_webhook(&self, url: &str, events: &[String]) -> Result<Webhook, ApiError> {
        let body = json!({ "url": url, "events": events, "active": true });
        let resp = self
            .send_json(reqwest::Method::POST, self.url("webhooks")?, Some(body))
            .await
            .map_err(scoped)?;
        Webhook::from_json(resp)
    }

    /// The organization's webhooks, in any collection shape.
    pub async fn list_webhooks(&self) -> Result<Vec<Webhook>, ApiError> {
        let resp = self
            .send_json(reqwest::Method::GET, self.url("webhooks")?, None)
            .await
            .map_err(scoped)?;
        parse_collection(resp)?
            .items
            .into_iter()
            .map(Webhook::from_json)
            .collect()
    }

    /// Deletes one webhook. An unknown id is [`ApiError::NotFound`].
    pub async fn delete_webhook(&self, id: &str) -> Result<(), ApiError> {
        let mut url = self.url("webhooks")?;
        url.path_segments_mut()
            .map_err(|_| ApiError::Config("base URL cannot take a path".into()))?
            .push(id);
        match self.send_json(reqwest::Method::DELETE, url, None).await {
            Ok(_) => Ok(()),
            Err(ApiError::NotFound { .. }) => Err(ApiError::NotFound {
                what: format!("webhook {id}"),
            }),
            Err(e) => Err(scoped(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_come_from_id_uuid_or_iri() {
        let w = Webhook::from_json(json!({"id": "w1", "url": "https://x", "events": ["new_note"]}));
        assert_eq!(w.map(|w| (w.id, w.active)).ok(), Some(("w1".into(), true)));
        let w = Webhook::from_json(json!({"@id": "/webhooks/w2", "active": false}));
        assert_eq!(w.map(|w| (w.id, w.active)).ok(), Some(("w2".into(), false)));
        assert!(Webhook::from_json(json!({"url": "x"})).is_err());
    }
}
