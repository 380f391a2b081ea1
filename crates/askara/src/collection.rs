//! Collections in every shape Askara's API Platform may send: Hydra (`hydra:member`), JSON-LD
//! without prefix (`member`), or a plain array.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub struct Collection {
    pub items: Vec<Value>,
    pub total: Option<u64>,
    /// The next page as the server linked it, if it did.
    pub next: Option<String>,
}

pub fn parse_collection(body: Value) -> Result<Collection, crate::ApiError> {
    match body {
        Value::Array(items) => Ok(Collection {
            items,
            total: None,
            next: None,
        }),
        Value::Object(mut obj) => {
            let items = ["hydra:member", "member"]
                .iter()
                .find_map(|k| obj.remove(*k))
                .ok_or_else(|| {
                    crate::ApiError::bad_response("a collection without `hydra:member` or `member`")
                })?;
            let Value::Array(items) = items else {
                return Err(crate::ApiError::bad_response(
                    "collection members are not a list",
                ));
            };
            let total = ["hydra:totalItems", "totalItems"]
                .iter()
                .find_map(|k| obj.get(*k).and_then(Value::as_u64));
            let next = ["hydra:view", "view"]
                .iter()
                .filter_map(|k| obj.get(*k))
                .find_map(|view| {
                    ["hydra:next", "next"]
                        .iter()
                        .find_map(|k| view.get(*k).and_then(Value::as_str))
                })
                .map(str::to_string);
            Ok(Collection { items, total, next })
        }
        _ => Err(crate::ApiError::bad_response(
            "a collection that is neither a list nor an object",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hydra_jsonld_and_plain_shapes() {
        let hydra = json!({"hydra:member": [{"uuid": "a"}], "hydra:totalItems": 3,
            "hydra:view": {"hydra:next": "/notes?page=2"}});
        let c = parse_collection(hydra).unwrap();
        assert_eq!(
            (c.items.len(), c.total, c.next.as_deref()),
            (1, Some(3), Some("/notes?page=2"))
        );

        let ld = json!({"member": [{"uuid": "a"}, {"uuid": "b"}], "view": {"next": "/n?page=3"}});
        let c = parse_collection(ld).unwrap();
        assert_eq!(
            (c.items.len(), c.total, c.next.as_deref()),
            (2, None, Some("/n?page=3"))
        );

        let last = json!({"hydra:member": [], "hydra:view": {"hydra:first": "/n?page=1"}});
        assert_eq!(parse_collection(last).unwrap().next, None);

        let plain = json!([{"uuid": "a"}]);
        assert_eq!(parse_collection(plain).unwrap().items.len(), 1);

        assert!(parse_collection(json!({"data": []})).is_err());
        assert!(parse_collection(json!({"member": 5})).is_err());
        assert!(parse_collection(json!("x")).is_err());
    }
}
