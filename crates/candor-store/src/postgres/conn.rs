//! The shared SQL's connection on PostgreSQL: `?n` placeholders become `$n`, and each
//! parameter is bound as the type the statement expects, so a query written once binds the
//! same values to INT4, INT8, BOOLEAN, BYTEA and TEXT columns.

use std::borrow::Cow;
use std::collections::HashMap;

use postgres::types::{ToSql, Type};
use postgres::{GenericClient, Statement};

use crate::sql::{Conn, DbError, DbResult, Dialect, Lock, Row, Value};

/// Most statements one connection keeps prepared. Nearly every query text is fixed, but a few
/// are built with one placeholder per value (`IN (?1, …, ?n)`), so the set is not closed; when
/// the cache is full it starts over, which costs one extra round trip per statement once.
const STATEMENTS_LEN_MAX: usize = 256;

/// The statements a pooled connection prepared, kept for the connection's life: PostgreSQL
/// keeps a prepared statement for the session, whatever becomes of the transaction it was
/// prepared in, so a statement run once per batch is parsed once per connection, and each
/// later run is one round trip (bind and execute) instead of two (parse, then bind and
/// execute).
#[derive(Default)]
pub(crate) struct Statements {
    by_sql: HashMap<String, Statement>,
}

impl Statements {
    /// The prepared statement for `sql` (`?n` placeholders become `$n`), preparing it on
    /// first use.
    fn get(&mut self, client: &mut impl GenericClient, sql: &str) -> DbResult<Statement> {
        if let Some(stmt) = self.by_sql.get(sql) {
            return Ok(stmt.clone());
        }
        let stmt = client.prepare(&dialect(sql))?;
        if self.by_sql.len() >= STATEMENTS_LEN_MAX {
            // Dropping a statement closes it on the server.
            self.by_sql.clear();
        }
        self.by_sql.insert(sql.to_owned(), stmt.clone());
        Ok(stmt)
    }
}

/// A client or a transaction, with the statements its pooled connection prepared.
pub(crate) struct PgConn<'c, C: GenericClient> {
    client: &'c mut C,
    statements: &'c mut Statements,
}

impl<'c, C: GenericClient> PgConn<'c, C> {
    pub(crate) fn new(client: &'c mut C, statements: &'c mut Statements) -> Self {
        PgConn { client, statements }
    }

    /// Runs a statement written for PostgreSQL (`$n` placeholders, typed parameters such as
    /// arrays) through the cache; returns its rows.
    pub(crate) fn pg_query(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> DbResult<Vec<postgres::Row>> {
        let stmt = self.statements.get(self.client, sql)?;
        Ok(self.client.query(&stmt, params)?)
    }

    /// Runs a statement written for PostgreSQL through the cache; returns the rows it changed.
    pub(crate) fn pg_execute(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> DbResult<u64> {
        let stmt = self.statements.get(self.client, sql)?;
        Ok(self.client.execute(&stmt, params)?)
    }
}

/// The statement with `?n` placeholders written `$n`.
fn dialect(sql: &str) -> Cow<'_, str> {
    if sql.contains('?') {
        Cow::Owned(sql.replace('?', "$"))
    } else {
        Cow::Borrowed(sql)
    }
}

type Param<'a> = Box<dyn ToSql + Sync + 'a>;

fn out_of_range(v: i64, ty: &Type) -> DbError {
    DbError::BadRow(format!("parameter {v} does not fit a {ty} column"))
}

/// `v` as the type the statement's parameter has.
fn bind<'a>(v: Value<'a>, ty: &Type) -> DbResult<Param<'a>> {
    Ok(match (v, ty) {
        (Value::Null, &Type::INT2) => Box::new(None::<i16>),
        (Value::Null, &Type::INT4) => Box::new(None::<i32>),
        (Value::Null, &Type::INT8) => Box::new(None::<i64>),
        (Value::Null, &Type::BOOL) => Box::new(None::<bool>),
        (Value::Null, &Type::BYTEA) => Box::new(None::<Vec<u8>>),
        (Value::Null, &Type::FLOAT8) => Box::new(None::<f64>),
        (Value::Null, _) => Box::new(None::<String>),
        (Value::Int(v), &Type::INT2) => {
            Box::new(i16::try_from(v).map_err(|_| out_of_range(v, ty))?)
        }
        (Value::Int(v), &Type::INT4) => {
            Box::new(i32::try_from(v).map_err(|_| out_of_range(v, ty))?)
        }
        (Value::Int(v), &Type::BOOL) => Box::new(v != 0),
        (Value::Int(v), _) => Box::new(v),
        (Value::Real(v), _) => Box::new(v),
        (Value::Bool(b), &Type::BOOL) => Box::new(b),
        (Value::Bool(b), _) => return bind(Value::Int(i64::from(b)), ty),
        (Value::Text(s), _) => Box::new(s),
        (Value::Blob(b), _) => Box::new(b),
    })
}

impl<C: GenericClient> PgConn<'_, C> {
    fn prepare<'a>(
        &mut self,
        sql: &str,
        params: &[Value<'a>],
    ) -> DbResult<(Statement, Vec<Param<'a>>)> {
        let stmt = self.statements.get(self.client, sql)?;
        let bound = params
            .iter()
            .zip(stmt.params())
            .map(|(v, ty)| bind(*v, ty))
            .collect::<DbResult<Vec<_>>>()?;
        Ok((stmt, bound))
    }
}

fn refs<'p>(bound: &'p [Param<'_>]) -> Vec<&'p (dyn ToSql + Sync)> {
    bound.iter().map(|b| &**b as &(dyn ToSql + Sync)).collect()
}

impl<C: GenericClient> Conn for PgConn<'_, C> {
    fn lock_table(&mut self, table: &str, lock: Lock) -> DbResult<()> {
        let mode = match lock {
            Lock::Share => "SHARE",
            Lock::Exclusive => "SHARE ROW EXCLUSIVE",
        };
        self.client
            .batch_execute(&format!("LOCK TABLE {table} IN {mode} MODE"))?;
        Ok(())
    }

    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn execute(&mut self, sql: &str, params: &[Value<'_>]) -> DbResult<u64> {
        let (stmt, bound) = self.prepare(sql, params)?;
        Ok(self.client.execute(&stmt, &refs(&bound))?)
    }

    fn query_each(
        &mut self,
        sql: &str,
        params: &[Value<'_>],
        each: &mut dyn FnMut(&dyn Row) -> DbResult<()>,
    ) -> DbResult<()> {
        let (stmt, bound) = self.prepare(sql, params)?;
        for r in self.client.query(&stmt, &refs(&bound))? {
            each(&r)?;
        }
        Ok(())
    }
}

impl Row for postgres::Row {
    fn opt_i64(&self, i: usize) -> DbResult<Option<i64>> {
        let ty = self
            .columns()
            .get(i)
            .map(|c| c.type_().clone())
            .ok_or_else(|| DbError::BadRow(format!("no column {i}")))?;
        Ok(match ty {
            Type::INT2 => self.try_get::<_, Option<i16>>(i)?.map(i64::from),
            Type::INT4 => self.try_get::<_, Option<i32>>(i)?.map(i64::from),
            Type::BOOL => self.try_get::<_, Option<bool>>(i)?.map(i64::from),
            _ => self.try_get(i)?,
        })
    }

    fn opt_text(&self, i: usize) -> DbResult<Option<String>> {
        Ok(self.try_get(i)?)
    }

    fn opt_blob(&self, i: usize) -> DbResult<Option<Vec<u8>>> {
        Ok(self.try_get(i)?)
    }

    fn opt_str(&self, i: usize) -> DbResult<Option<&str>> {
        Ok(self.try_get(i)?)
    }

    fn opt_bytes(&self, i: usize) -> DbResult<Option<&[u8]>> {
        Ok(self.try_get(i)?)
    }

    fn opt_f64(&self, i: usize) -> DbResult<Option<f64>> {
        let float4 = self
            .columns()
            .get(i)
            .is_some_and(|c| *c.type_() == Type::FLOAT4);
        if float4 {
            return Ok(self.try_get::<_, Option<f32>>(i)?.map(f64::from));
        }
        Ok(self.try_get(i)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_placeholders_become_dollar_placeholders() {
        assert_eq!(
            dialect("SELECT a FROM t WHERE b = ?1 AND c IN (?2, ?12) LIMIT ?3"),
            "SELECT a FROM t WHERE b = $1 AND c IN ($2, $12) LIMIT $3"
        );
        assert!(matches!(dialect("SELECT 1"), Cow::Borrowed(_)));
    }

    #[test]
    fn integers_bind_as_the_column_type_and_refuse_what_does_not_fit() {
        for ty in [Type::INT2, Type::INT4, Type::INT8, Type::BOOL] {
            assert!(bind(Value::Int(1), &ty).is_ok(), "{ty}");
            assert!(bind(Value::Null, &ty).is_ok(), "{ty}");
        }
        assert!(bind(Value::Int(i64::from(i32::MAX) + 1), &Type::INT4).is_err());
        assert!(bind(Value::Int(i64::from(i16::MIN) - 1), &Type::INT2).is_err());
        assert!(bind(Value::Bool(true), &Type::INT8).is_ok());
    }
}
