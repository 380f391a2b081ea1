//! Collections in every shape Askara's API Platform may send: Hydra (`hydra:member`), JSON-LD
//! without prefix (`member`), or a plain array.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub struct Collection {
    pub items: Vec<Value>,
    pub total: Option<u64>,
    /// The next page as the server linked it, if it did.
    pub next: Option<String>,
    /// Whether the server said anything about paging (a view or a total). A plain array
    /// says nothing: a short one is not the last page.
    pub paginated: bool,
}

pub fn parse_collection(body: Value) -> Result<Collection, crate::ApiError> {
    match body {
        Value::Array(items) => Ok(Collection {
            items,
            total: None,
            next: None,
            paginated: false,
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
            let view = ["hydra:view", "view"]
                .iter()
                .find_map(|k| obj.get(*k).filter(|v| v.is_object()));
            let next = view
                .into_iter()
                .find_map(|view| {
                    ["hydra:next", "next"]
                        .iter()
                        .find_map(|k| view.get(*k).and_then(Value::as_str))
                })
                .map(str::to_string);
            let paginated = total.is_some() || view.is_some();
            Ok(Collection {
                items,
                total,
                next,
                paginated,
            })
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
        let c = parse_collection(plain).unwrap();
        assert_eq!((c.items.len(), c.paginated), (1, false));

        // Members only: nothing says whether more pages follow.
        let bare = json!({"member": [{"uuid": "a"}]});
        assert!(!parse_collection(bare).unwrap().paginated);
        let counted = json!({"hydra:member": [], "hydra:totalItems": 0});
        assert!(parse_collection(counted).unwrap().paginated);

        assert!(parse_collection(json!({"data": []})).is_err());
        assert!(parse_collection(json!({"member": 5})).is_err());
        assert!(parse_collection(json!("x")).is_err());
    }
}
