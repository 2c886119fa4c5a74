//! Auth0's list paging: `page` (from 0), `per_page` (at most 100),
//! `include_totals` and the `fields`/`include_fields` projection, and the
//! two shapes lists answer in. Deploy tools and the SDKs page through every
//! collection and read `total` to know when to stop, so each list honours
//! them the same way.

use crate::error::ApiError;
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::HashMap;

/// Most items one page holds, as at Auth0.
pub(crate) const MAX_PER_PAGE: u32 = 100;

/// Page size of the Management API's classic collections (clients,
/// connections, rules, users, logs) when none is asked for.
pub(crate) const CLASSIC_PER_PAGE: u32 = 50;

/// Page size of the Actions API's lists when none is asked for.
pub(crate) const ACTIONS_PER_PAGE: u32 = 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Paging {
    pub page: u32,
    pub per_page: u32,
    include_totals: bool,
    /// `fields=a,b`: the only properties each item keeps, or with
    /// `include_fields=false` the ones it loses.
    fields: Option<(Vec<String>, bool)>,
}

impl Paging {
    /// Reads `page`, `per_page` and `include_totals` from a query string;
    /// a value that is not a number is a 400, as at Auth0.
    pub fn parse(q: &HashMap<String, String>, default_per_page: u32) -> Result<Self, ApiError> {
        let number = |key: &str| {
            q.get(key)
                .map(|v| {
                    v.parse::<u32>().map_err(|_| {
                        ApiError::bad_request(format!(
                            "Query validation error: '{key}' must be a non-negative integer"
                        ))
                    })
                })
                .transpose()
        };
        Ok(Self {
            page: number("page")?.unwrap_or(0),
            // Lists paged in SQL cannot answer an empty page; none answers one.
            per_page: number("per_page")?
                .unwrap_or(default_per_page)
                .clamp(1, MAX_PER_PAGE),
            include_totals: q.get("include_totals").is_some_and(|v| v == "true"),
            fields: q.get("fields").filter(|f| !f.is_empty()).map(|f| {
                (
                    f.split(',').map(|n| n.trim().to_owned()).collect(),
                    q.get("include_fields").is_none_or(|v| v != "false"),
                )
            }),
        })
    }

    /// Whether the caller asked for `include_totals=true`.
    pub fn wants_totals(&self) -> bool {
        self.include_totals
    }

    /// Index of the page's first item.
    pub fn offset(&self) -> u64 {
        u64::from(self.page) * u64::from(self.per_page)
    }

    /// This page of a list held whole; answers it and the list's length.
    pub fn slice<T>(&self, all: Vec<T>) -> (Vec<T>, u64) {
        let total = all.len() as u64;
        let start = usize::try_from(self.offset()).unwrap_or(usize::MAX);
        let page = all
            .into_iter()
            .skip(start)
            .take(self.per_page as usize)
            .collect();
        (page, total)
    }

    /// The Management API's classic shape: the bare array, or with
    /// `include_totals=true` an object with `start`, `limit`, `length`,
    /// `total` and the items under `key`.
    pub fn classic<T: Serialize>(&self, key: &str, items: Vec<T>, total: u64) -> Value {
        let items: Vec<Value> = items.iter().map(|i| self.project(json!(i))).collect();
        if !self.include_totals {
            return json!(items);
        }
        let mut body = json!({
            "start": self.offset(),
            "limit": self.per_page,
            "length": items.len(),
            "total": total,
        });
        body[key] = json!(items);
        body
    }

    /// `item` with only the asked-for properties (or without the excluded ones).
    fn project(&self, mut item: Value) -> Value {
        if let (Some((names, include)), Some(map)) = (&self.fields, item.as_object_mut()) {
            map.retain(|k, _| names.iter().any(|n| n == k) == *include);
        }
        item
    }

    /// The Actions API's shape: the items under `key` with `total`, `page`
    /// and `per_page`, whatever `include_totals` says.
    pub fn with_totals<T: Serialize>(&self, key: &str, items: Vec<T>, total: u64) -> Value {
        let mut body = json!({"total": total, "page": self.page, "per_page": self.per_page});
        body[key] = json!(items);
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn pages_slice_and_report_the_whole_length() {
        let p = Paging::parse(&query(&[("page", "1"), ("per_page", "2")]), 50).expect("parses");
        let (items, total) = p.slice(vec![1, 2, 3, 4, 5]);
        assert_eq!((items, total), (vec![3, 4], 5));
        let (items, total) = Paging::parse(&query(&[("page", "9")]), 2)
            .expect("parses")
            .slice(vec![1, 2, 3]);
        assert_eq!((items, total), (vec![], 3), "past the end is empty");
    }

    #[test]
    fn totals_change_the_shape_only_when_asked() {
        let bare = Paging::parse(&query(&[]), 50).expect("parses");
        assert_eq!(bare.classic("rules", vec![1], 7), json!([1]));
        let with =
            Paging::parse(&query(&[("include_totals", "true"), ("page", "3")]), 2).expect("parses");
        assert_eq!(
            with.classic("rules", vec![1], 7),
            json!({"start": 6, "limit": 2, "length": 1, "total": 7, "rules": [1]})
        );
        assert_eq!(
            bare.with_totals("actions", vec![1], 7),
            json!({"total": 7, "page": 0, "per_page": 50, "actions": [1]})
        );
    }

    #[test]
    fn fields_keep_or_drop_properties() {
        let item = json!({"client_id": "c", "name": "n", "callbacks": []});
        let keep = Paging::parse(&query(&[("fields", "client_id,name")]), 50).expect("parses");
        assert_eq!(
            keep.classic("clients", vec![item.clone()], 1),
            json!([{"client_id": "c", "name": "n"}])
        );
        let drop = Paging::parse(
            &query(&[("fields", "callbacks"), ("include_fields", "false")]),
            50,
        )
        .expect("parses");
        assert_eq!(
            drop.classic("clients", vec![item], 1),
            json!([{"client_id": "c", "name": "n"}])
        );
    }

    #[test]
    fn sizes_are_capped_and_garbage_is_refused() {
        let p = Paging::parse(&query(&[("per_page", "100000")]), 50).expect("parses");
        assert_eq!(p.per_page, MAX_PER_PAGE);
        let p = Paging::parse(&query(&[("per_page", "0")]), 50).expect("parses");
        assert_eq!(p.per_page, 1);
        for bad in ["-1", "two", "1.5", ""] {
            assert!(
                Paging::parse(&query(&[("per_page", bad)]), 50).is_err(),
                "{bad}"
            );
            assert!(
                Paging::parse(&query(&[("page", bad)]), 50).is_err(),
                "{bad}"
            );
        }
    }
}
