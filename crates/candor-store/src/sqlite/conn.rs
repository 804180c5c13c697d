//! The shared SQL's connection on SQLite: parameters bind as SQLite values, rows read through
//! the statement cache.

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, ToSql, params_from_iter};

use crate::sql::{Conn, DbError, DbResult, Dialect, Lock, Row, Value};

impl ToSql for Value<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match *self {
            Value::Null => ValueRef::Null,
            Value::Int(v) => ValueRef::Integer(v),
            Value::Real(v) => ValueRef::Real(v),
            Value::Bool(b) => ValueRef::Integer(i64::from(b)),
            Value::Text(s) => ValueRef::Text(s.as_bytes()),
            Value::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

/// A connection, or a transaction (which derefs to its connection).
pub(crate) struct SqliteConn<'c>(pub(crate) &'c Connection);

/// The shared SQL as SQLite reads it: its default collation already sorts text in byte order.
fn dialect(sql: &str) -> std::borrow::Cow<'_, str> {
    const COLLATE_C: &str = " COLLATE \"C\"";
    if sql.contains(COLLATE_C) {
        std::borrow::Cow::Owned(sql.replace(COLLATE_C, ""))
    } else {
        std::borrow::Cow::Borrowed(sql)
    }
}

impl Conn for SqliteConn<'_> {
    /// One connection writes at a time: nothing to lock.
    fn lock_table(&mut self, _table: &str, _lock: Lock) -> DbResult<()> {
        Ok(())
    }

    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn execute(&mut self, sql: &str, params: &[Value<'_>]) -> DbResult<u64> {
        let n = self
            .0
            .prepare_cached(&dialect(sql))?
            .execute(params_from_iter(params.iter()))?;
        Ok(n as u64)
    }

    fn query_each(
        &mut self,
        sql: &str,
        params: &[Value<'_>],
        each: &mut dyn FnMut(&dyn Row) -> DbResult<()>,
    ) -> DbResult<()> {
        let mut stmt = self.0.prepare_cached(&dialect(sql))?;
        let mut rows = stmt.query(params_from_iter(params.iter()))?;
        while let Some(r) = rows.next()? {
            each(r)?;
        }
        Ok(())
    }
}

impl Row for rusqlite::Row<'_> {
    fn opt_i64(&self, i: usize) -> DbResult<Option<i64>> {
        Ok(self.get(i)?)
    }

    fn opt_text(&self, i: usize) -> DbResult<Option<String>> {
        Ok(self.get(i)?)
    }

    fn opt_blob(&self, i: usize) -> DbResult<Option<Vec<u8>>> {
        Ok(self.get(i)?)
    }

    fn opt_f64(&self, i: usize) -> DbResult<Option<f64>> {
        Ok(self.get(i)?)
    }

    fn opt_str(&self, i: usize) -> DbResult<Option<&str>> {
        match self.get_ref(i)? {
            ValueRef::Null => Ok(None),
            ValueRef::Text(bytes) => std::str::from_utf8(bytes)
                .map(Some)
                .map_err(|_| crate::sql::bad_row("text", "not UTF-8")),
            _ => Err(DbError::BadRow(format!("column {i} is not text"))),
        }
    }

    fn opt_bytes(&self, i: usize) -> DbResult<Option<&[u8]>> {
        match self.get_ref(i)? {
            ValueRef::Null => Ok(None),
            ValueRef::Blob(bytes) => Ok(Some(bytes)),
            _ => Err(DbError::BadRow(format!("column {i} is not a blob"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::params;

    #[test]
    fn byte_order_collation_is_dropped_and_other_text_kept() {
        assert_eq!(
            dialect("SELECT a FROM t ORDER BY a COLLATE \"C\", b"),
            "SELECT a FROM t ORDER BY a, b"
        );
        assert!(matches!(dialect("SELECT 1"), std::borrow::Cow::Borrowed(_)));
    }

    #[test]
    fn values_round_trip_through_a_connection() {
        let conn = Connection::open_in_memory().unwrap();
        let c: &mut dyn Conn = &mut SqliteConn(&conn);
        c.execute(
            "CREATE TABLE t (i INTEGER, b INTEGER, s TEXT, x BLOB, f REAL)",
            params![],
        )
        .unwrap();
        let n = c
            .execute(
                "INSERT INTO t VALUES (?1, ?2, ?3, ?4, 1.5), (NULL, NULL, NULL, NULL, NULL)",
                params![7i64, true, "text", &[1u8, 2][..]],
            )
            .unwrap();
        assert_eq!(n, 2);
        let rows = c
            .query(
                "SELECT i, b, s, x, f FROM t ORDER BY i COLLATE \"C\" DESC",
                params![],
                |r| {
                    Ok((
                        r.opt_i64(0)?,
                        r.opt_i64(1)?,
                        r.opt_text(2)?,
                        r.opt_blob(3)?,
                        r.opt_f64(4)?,
                    ))
                },
            )
            .unwrap();
        assert_eq!(
            rows,
            vec![
                (
                    Some(7),
                    Some(1),
                    Some("text".into()),
                    Some(vec![1, 2]),
                    Some(1.5)
                ),
                (None, None, None, None, None),
            ]
        );
        let missing = c.query_one("SELECT i FROM t WHERE i IS NULL", params![], |r| r.i64(0));
        assert!(
            missing.is_err(),
            "a NULL read as a number is an unreadable row"
        );
    }
}
