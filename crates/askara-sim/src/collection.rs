//! Serialises one page of a collection in the configured shape, with API Platform's
//! relative `view` links that keep every filter and only change `page`.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

use crate::config::CollectionFormat;

pub(crate) struct Page<'a> {
    /// `/notes`
    pub path: &'a str,
    /// `/contexts/Note`
    pub context: &'a str,
    pub members: Vec<Value>,
    pub total: usize,
    pub page: usize,
    pub items_per_page: usize,
    /// The request's query pairs; `page` is replaced in each link.
    pub query: &'a [(String, String)],
}

impl Page<'_> {
    fn link(&self, page: usize) -> String {
        let mut ser = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in self.query.iter().filter(|(k, _)| k != "page") {
            ser.append_pair(k, v);
        }
        ser.append_pair("page", &page.to_string());
        format!("{}?{}", self.path, ser.finish())
    }

    fn last_page(&self) -> usize {
        if self.items_per_page == 0 {
            1
        } else {
            self.total.div_ceil(self.items_per_page).max(1)
        }
    }

    /// `totals: false` is API Platform's partial pagination: no `totalItems`, no `last`, and
    /// `next` whenever the page is full (so a last page that happens to be full is followed by
    /// an empty one).
    pub(crate) fn render(self, format: CollectionFormat, totals: bool) -> Value {
        let prefix = match format {
            CollectionFormat::Plain => return Value::Array(self.members),
            CollectionFormat::Hydra => "hydra:",
            CollectionFormat::JsonLd => "",
        };
        let last = self.last_page();
        let mut view = Map::new();
        view.insert("@id".into(), json!(self.link(self.page)));
        view.insert(
            "@type".into(),
            json!(format!("{prefix}PartialCollectionView")),
        );
        view.insert(format!("{prefix}first"), json!(self.link(1)));
        if totals {
            view.insert(format!("{prefix}last"), json!(self.link(last)));
        }
        if self.page > 1 {
            let previous = if totals {
                (self.page - 1).min(last)
            } else {
                self.page - 1
            };
            view.insert(format!("{prefix}previous"), json!(self.link(previous)));
        }
        let has_next = if totals {
            self.page < last
        } else {
            self.items_per_page > 0 && self.members.len() >= self.items_per_page
        };
        if has_next {
            view.insert(format!("{prefix}next"), json!(self.link(self.page + 1)));
        }
        let mut out = Map::new();
        out.insert("@context".into(), json!(self.context));
        out.insert("@id".into(), json!(self.path));
        out.insert("@type".into(), json!(format!("{prefix}Collection")));
        out.insert(format!("{prefix}member"), Value::Array(self.members));
        if totals {
            out.insert(format!("{prefix}totalItems"), json!(self.total));
        }
        out.insert(format!("{prefix}view"), Value::Object(view));
        Value::Object(out)
    }
}

/// A JSON body with the content type API Platform uses for the configured format.
pub(crate) fn json_response(format: CollectionFormat, body: &Value) -> Response {
    let content_type = match format {
        CollectionFormat::Plain => "application/json; charset=utf-8",
        CollectionFormat::Hydra | CollectionFormat::JsonLd => "application/ld+json; charset=utf-8",
    };
    let mut resp = body.to_string().into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}
