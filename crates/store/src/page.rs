//! Cursor paging for list endpoints, newest first.
//!
//! A request carries `page_size` (default 100, at most 1000) and an optional `page_token`. The
//! cursor is the last row's `(tm_create, id)`: our tokens read `<tm_create>|<id>`, which stays
//! exact when many rows share a timestamp; a bare `tm_create` (the VoIPBIN form) is accepted
//! too and means "rows strictly older than this". Queries fetch `size + 1` rows so that
//! [`Page::from_rows`] knows whether another page follows.
//!
//! ```text
//! let req = PageRequest::from_query(q.page_size.as_deref(), q.page_token.as_deref())?;
//! let (clause, binds) = page_clause(&req);
//! let sql = format!("SELECT * FROM flow_flows WHERE customer_id = ? AND {LIVE}{clause}");
//! let rows = sqlx::query(AssertSqlSafe(sql)).bind(customer).bind_all(binds).fetch_all(db.reader()).await?;
//! let page = Page::from_rows(rows.iter().map(Flow::from_row).collect::<Result<_>>()?, req.size, |f| (f.tm_create.clone(), f.id));
//! ```

use serde::{Deserialize, Serialize};
use sqlx::any::{Any, AnyArguments};
use sqlx::query::{Query, QueryAs, QueryScalar};
use uuid::Uuid;
use voxbin_core::{clock, Error, Result};

/// Page size when the request names none.
pub const DEFAULT_PAGE_SIZE: u32 = 100;

/// Largest page size a request may ask for.
pub const MAX_PAGE_SIZE: u32 = 1000;

/// Where the previous page ended: the last row's `tm_create`, and its `id` when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// The last row's `tm_create`, in the contract timestamp format.
    pub tm_create: String,
    /// The last row's id; `None` for a bare VoIPBIN timestamp token.
    pub id: Option<Uuid>,
}

impl Cursor {
    /// Parses `<tm_create>|<id>` or a bare `<tm_create>`; anything else is 400 `INVALID_PAGE_TOKEN`.
    pub fn parse(token: &str) -> Result<Cursor> {
        let (ts, id) = match token.split_once('|') {
            Some((ts, id)) => (ts, Some(id)),
            None => (token, None),
        };
        let bad = || {
            Error::invalid_argument(
                "INVALID_PAGE_TOKEN",
                "page_token must be the next_page_token of a previous page, or a timestamp \
                 such as 2026-01-15T09:30:00.000000Z.",
            )
        };
        // Re-format so that the value compared against the column has the fixed width that
        // makes text order equal time order.
        let tm_create = clock::parse(ts).map(clock::format).ok_or_else(bad)?;
        let id = match id {
            Some(id) => Some(Uuid::try_parse(id).map_err(|_| bad())?),
            None => None,
        };
        Ok(Cursor { tm_create, id })
    }

    /// The token text: `<tm_create>|<id>`, or the bare timestamp when there is no id.
    pub fn to_token(&self) -> String {
        match self.id {
            Some(id) => format!("{}|{}", self.tm_create, id),
            None => self.tm_create.clone(),
        }
    }
}

/// A validated list request: how many rows, and after which cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// Rows per page, 1..=1000.
    pub size: u32,
    /// Where the previous page ended; `None` for the first page.
    pub token: Option<Cursor>,
}

impl Default for PageRequest {
    fn default() -> Self {
        PageRequest {
            size: DEFAULT_PAGE_SIZE,
            token: None,
        }
    }
}

impl PageRequest {
    /// Validates the `page_size` and `page_token` query parameters (empty counts as absent).
    pub fn from_query(page_size: Option<&str>, page_token: Option<&str>) -> Result<PageRequest> {
        let size = match page_size.filter(|s| !s.is_empty()) {
            None => DEFAULT_PAGE_SIZE,
            Some(text) => match text.parse::<u32>() {
                Ok(n) if (1..=MAX_PAGE_SIZE).contains(&n) => n,
                _ => {
                    return Err(Error::invalid_argument(
                        "INVALID_PAGE_SIZE",
                        format!("page_size must be a whole number from 1 to {MAX_PAGE_SIZE}."),
                    ))
                }
            },
        };
        let token = match page_token.filter(|t| !t.is_empty()) {
            None => None,
            Some(text) => Some(Cursor::parse(text)?),
        };
        Ok(PageRequest { size, token })
    }

    /// Rows to fetch: one more than the page size, to learn whether another page follows.
    pub fn fetch_limit(&self) -> i64 {
        i64::from(self.size) + 1
    }
}

/// A value to bind to a `?` placeholder of a generated SQL fragment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindValue {
    /// Bound as text.
    Text(String),
    /// Bound as a 64-bit integer.
    Int(i64),
}

/// The paging tail of a list query and its bind values, to append after a `WHERE` condition:
/// ` AND tm_create <= ? AND (tm_create < ? OR id < ?) ORDER BY tm_create DESC, id DESC LIMIT ?`
/// (the cursor part only with a token; `LIMIT` is `size + 1`).
pub fn page_clause(req: &PageRequest) -> (String, Vec<BindValue>) {
    let mut sql = String::new();
    let mut binds = Vec::new();
    match &req.token {
        // `tm_create <= ?` lets the range scan use an index on (tm_create, id); the OR then
        // breaks ties on the id.
        Some(Cursor {
            tm_create,
            id: Some(id),
        }) => {
            sql.push_str(" AND tm_create <= ? AND (tm_create < ? OR id < ?)");
            binds.push(BindValue::Text(tm_create.clone()));
            binds.push(BindValue::Text(tm_create.clone()));
            binds.push(BindValue::Text(id.to_string()));
        }
        Some(Cursor {
            tm_create,
            id: None,
        }) => {
            sql.push_str(" AND tm_create < ?");
            binds.push(BindValue::Text(tm_create.clone()));
        }
        None => {}
    }
    sql.push_str(" ORDER BY tm_create DESC, id DESC LIMIT ?");
    binds.push(BindValue::Int(req.fetch_limit()));
    (sql, binds)
}

/// Binds a list of [`BindValue`]s in order onto a sqlx query.
pub trait BindAll: Sized {
    /// Binds every value, in order.
    fn bind_all(self, values: Vec<BindValue>) -> Self;
}

// The three sqlx query types share no trait with `bind`, hence one body written three times.
macro_rules! bind_all_body {
    () => {
        fn bind_all(mut self, values: Vec<BindValue>) -> Self {
            for v in values {
                self = match v {
                    BindValue::Text(s) => self.bind(s),
                    BindValue::Int(n) => self.bind(n),
                };
            }
            self
        }
    };
}

impl<'q> BindAll for Query<'q, Any, AnyArguments> {
    bind_all_body!();
}

impl<'q, O> BindAll for QueryAs<'q, Any, O, AnyArguments> {
    bind_all_body!();
}

impl<'q, O> BindAll for QueryScalar<'q, Any, O, AnyArguments> {
    bind_all_body!();
}

/// One page of a list answer: `{"result": [...], "next_page_token": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The rows of this page, newest first.
    pub result: Vec<T>,
    /// Token for the next page; empty when this is the last one.
    pub next_page_token: String,
}

impl<T> Page<T> {
    /// Builds a page from up to `size + 1` fetched rows; `key` gives a row's `(tm_create, id)`.
    pub fn from_rows<F>(mut rows: Vec<T>, size: u32, key: F) -> Page<T>
    where
        F: Fn(&T) -> (String, Uuid),
    {
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        if rows.len() <= size {
            return Page {
                result: rows,
                next_page_token: String::new(),
            };
        }
        rows.truncate(size);
        let next_page_token = rows
            .last()
            .map(|row| {
                let (tm_create, id) = key(row);
                Cursor {
                    tm_create,
                    id: Some(id),
                }
                .to_token()
            })
            .unwrap_or_default();
        Page {
            result: rows,
            next_page_token,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::temp_db;
    use sqlx::{AssertSqlSafe, Row};
    use voxbin_core::ErrorKind;

    fn size(text: Option<&str>) -> Result<u32> {
        PageRequest::from_query(text, None).map(|r| r.size)
    }

    #[test]
    fn page_size_defaults_caps_and_rejects() {
        assert_eq!(size(None).unwrap(), 100);
        assert_eq!(size(Some("")).unwrap(), 100);
        assert_eq!(size(Some("1")).unwrap(), 1);
        assert_eq!(size(Some("1000")).unwrap(), 1000);
        for bad in ["0", "1001", "abc", "-1", "1.5"] {
            let err = size(Some(bad)).unwrap_err();
            assert_eq!(err.kind, ErrorKind::InvalidArgument, "{bad}");
            assert_eq!(err.http_status(), 400);
            assert_eq!(err.reason, "INVALID_PAGE_SIZE");
            assert!(err.message.contains("1 to 1000"), "{}", err.message);
        }
    }

    #[test]
    fn tokens_bare_timestamp_ours_and_garbage() {
        let bare = PageRequest::from_query(None, Some("2026-01-15T09:30:00.000000Z")).unwrap();
        assert_eq!(
            bare.token,
            Some(Cursor {
                tm_create: "2026-01-15T09:30:00.000000Z".into(),
                id: None
            })
        );

        let id = Uuid::now_v7();
        let ours = format!("2026-01-15T09:30:00.000001Z|{id}");
        let req = PageRequest::from_query(Some("7"), Some(&ours)).unwrap();
        assert_eq!(req.size, 7);
        let cursor = req.token.unwrap();
        assert_eq!(cursor.id, Some(id));
        assert_eq!(cursor.to_token(), ours);

        assert_eq!(PageRequest::from_query(None, Some("")).unwrap().token, None);
        for bad in [
            "garbage",
            "2026-01-15 09:30:00",
            "2026-01-15T09:30:00.000000Z|not-a-uuid",
            "2026-01-15T09:30:00.000000Z|",
            "|0190b0c4-0000-7000-8000-000000000000",
        ] {
            let err = PageRequest::from_query(None, Some(bad)).unwrap_err();
            assert_eq!(err.reason, "INVALID_PAGE_TOKEN", "{bad}");
            assert_eq!(err.http_status(), 400);
        }
    }

    #[test]
    fn clause_with_and_without_cursor() {
        let (sql, binds) = page_clause(&PageRequest::default());
        assert_eq!(sql, " ORDER BY tm_create DESC, id DESC LIMIT ?");
        assert_eq!(binds, vec![BindValue::Int(101)]);
        let req = PageRequest::from_query(Some("5"), Some("2026-01-15T09:30:00.000000Z")).unwrap();
        let (sql, binds) = page_clause(&req);
        assert_eq!(
            sql,
            " AND tm_create < ? ORDER BY tm_create DESC, id DESC LIMIT ?"
        );
        assert_eq!(binds.len(), 2);
    }

    #[test]
    fn page_serialises_as_the_contract() {
        let page = Page::from_rows(vec![1, 2, 3], 2, |_| {
            ("2026-01-15T09:30:00.000000Z".to_string(), Uuid::nil())
        });
        let json = serde_json::to_string(&page).unwrap();
        assert_eq!(
            json,
            format!(
                r#"{{"result":[1,2],"next_page_token":"2026-01-15T09:30:00.000000Z|{}"}}"#,
                Uuid::nil()
            )
        );
        let last = Page::from_rows(vec![1, 2], 2, |_| (String::new(), Uuid::nil()));
        assert_eq!(
            serde_json::to_string(&last).unwrap(),
            r#"{"result":[1,2],"next_page_token":""}"#
        );
    }

    #[tokio::test]
    async fn paging_yields_every_row_once_in_order_despite_equal_timestamps() {
        let (_dir, db) = temp_db().await;
        sqlx::query(
            "CREATE TABLE test_items (id CHAR(36) NOT NULL PRIMARY KEY, \
             tm_create VARCHAR(32) NOT NULL, tm_delete VARCHAR(32) NULL)",
        )
        .execute(db.writer())
        .await
        .unwrap();
        let base = clock::parse("2026-01-15T09:30:00.000000Z").unwrap();
        let mut expected = Vec::new();
        for i in 0..250i64 {
            // Groups of 4 rows share a timestamp, so ties must be broken by the id.
            let tm = clock::format(base + chrono_seconds(i / 4));
            let id = Uuid::new_v4();
            sqlx::query("INSERT INTO test_items (id, tm_create) VALUES (?, ?)")
                .bind(id.to_string())
                .bind(tm.as_str())
                .execute(db.writer())
                .await
                .unwrap();
            expected.push((tm, id));
        }
        expected.sort_by(|a, b| b.cmp(a));

        for page_size in [1u32, 7, 100] {
            let mut seen = Vec::new();
            let mut token = String::new();
            let mut pages = 0;
            loop {
                let size = page_size.to_string();
                let req = PageRequest::from_query(Some(&size), Some(&token)).unwrap();
                let (clause, binds) = page_clause(&req);
                let sql = format!(
                    "SELECT id, tm_create FROM test_items WHERE {}{clause}",
                    crate::LIVE
                );
                let rows = sqlx::query(AssertSqlSafe(sql))
                    .bind_all(binds)
                    .fetch_all(db.reader())
                    .await
                    .unwrap();
                let rows: Vec<(String, Uuid)> = rows
                    .iter()
                    .map(|r| {
                        let id: String = r.get("id");
                        (r.get("tm_create"), Uuid::parse_str(&id).unwrap())
                    })
                    .collect();
                let page = Page::from_rows(rows, req.size, |r| r.clone());
                pages += 1;
                assert!(page.result.len() <= page_size as usize);
                seen.extend(page.result);
                if page.next_page_token.is_empty() {
                    break;
                }
                token = page.next_page_token;
            }
            assert_eq!(seen, expected, "page size {page_size}");
            assert_eq!(
                pages,
                250usize.div_ceil(page_size as usize),
                "page size {page_size}"
            );
        }

        // A bare VoIPBIN timestamp returns the rows strictly older than it.
        let (tm, _) = &expected[10];
        let req = PageRequest::from_query(Some("1000"), Some(tm)).unwrap();
        let (clause, binds) = page_clause(&req);
        let sql = format!("SELECT id FROM test_items WHERE {}{clause}", crate::LIVE);
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind_all(binds)
            .fetch_all(db.reader())
            .await
            .unwrap();
        assert_eq!(rows.len(), expected.iter().filter(|(t, _)| t < tm).count());
    }

    fn chrono_seconds(n: i64) -> chrono::TimeDelta {
        chrono::TimeDelta::seconds(n)
    }
}
