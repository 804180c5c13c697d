//! Time partitions (migration 15): `events` by UTC month of `expires_at`, `exposure_lists` by
//! UTC month of `at`, each with a DEFAULT partition for rows outside the months that exist.
//!
//! Why `expires_at` and not the time an event happened or arrived: an event's expiry is its
//! own (the retention of its purposes, narrowed later by consent changes and rectification,
//! extended while a session-only visit lasts), so a month of arrivals holds rows expiring over
//! years and could be dropped only after the longest retention. A month of expiries is wholly
//! expired the moment its upper bound passes: retention drops it and deletes rows only in the
//! month under way. The price is that an UPDATE changing `expires_at` across a month boundary
//! moves the row to another partition (PostgreSQL deletes and inserts it); a concurrent update
//! of a moved row fails with a serialization error, which the store's write loop retries.
//!
//! Partitions are created ahead by every start and every retention pass (`prepare`), each in a
//! transaction of its own: `LOCK TABLE … IN SHARE UPDATE EXCLUSIVE MODE` on the parent (the
//! lock `ATTACH PARTITION` takes anyway: it conflicts with itself, so instances starting at once
//! create each month once, and not with reads or writes of rows), check the month is still
//! missing, create it as a plain table, move the rows the DEFAULT partition holds for that
//! month into it, attach it. No advisory lock, no error to catch.
//!
//! Dropping a partition takes an ACCESS EXCLUSIVE lock on the parent for an instant. It waits
//! at most [`LOCK_TIMEOUT_MS`]: if a long transaction holds the table, the month stays for the
//! next pass and the row-by-row deletion that follows in the same pass removes its rows
//! meanwhile, so retention is never late because of a lock.

use candor_domain::SubjectKey;
use candor_domain::time::Timestamp;
use postgres::Transaction;

use super::conn::PgConn;
use super::{DbResult, PostgresStore, sqlstate};
use crate::sql::profiles;
use crate::{DeletedExposures, StoreResult};

/// Months of `events` created ahead of the current one: a purpose's retention of up to two
/// years lands in a month partition; longer ones wait in the DEFAULT partition until their
/// month is created (and are moved then).
pub(crate) const EVENT_MONTHS_AHEAD: i64 = 25;
/// Months of `exposure_lists` created ahead of the current one: lists are recorded at the
/// time they are served, so two months cover a retention job that has not run for weeks.
pub(crate) const EXPOSURE_MONTHS_AHEAD: i64 = 2;
/// Longest wait for the lock that dropping a partition takes on its parent.
const LOCK_TIMEOUT_MS: u32 = 500;

/// A table partitioned by UTC month of one of its columns.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Partitioned {
    pub(crate) parent: &'static str,
    pub(crate) column: &'static str,
    pub(crate) months_ahead: i64,
}

pub(crate) const EVENTS: Partitioned = Partitioned {
    parent: "events",
    column: "expires_at",
    months_ahead: EVENT_MONTHS_AHEAD,
};

pub(crate) const EXPOSURES: Partitioned = Partitioned {
    parent: "exposure_lists",
    column: "at",
    months_ahead: EXPOSURE_MONTHS_AHEAD,
};

/// A UTC calendar month, counted from year 0 (`year * 12 + month - 1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Month(i64);

impl Month {
    /// The month holding the instant `at`.
    pub(crate) fn of(at: Timestamp) -> Month {
        let days = at.as_millis().div_euclid(candor_domain::time::DAY_MS);
        let (year, month, _) = civil_from_days(days);
        Month(year * 12 + month - 1)
    }

    pub(crate) fn plus(self, months: i64) -> Month {
        Month(self.0 + months)
    }

    /// Its first instant, in milliseconds.
    pub(crate) fn start_ms(self) -> i64 {
        let (year, month) = (self.0.div_euclid(12), self.0.rem_euclid(12) + 1);
        days_from_civil(year, month, 1) * candor_domain::time::DAY_MS
    }

    /// The first instant of the next month: the partition's exclusive upper bound.
    pub(crate) fn end_ms(self) -> i64 {
        self.plus(1).start_ms()
    }

    /// The partition's name: `<parent>_pYYYYMM`.
    pub(crate) fn partition(self, table: &Partitioned) -> String {
        format!(
            "{}_p{:04}{:02}",
            table.parent,
            self.0.div_euclid(12),
            self.0.rem_euclid(12) + 1
        )
    }

    /// The month a partition's name stands for, when it is one of ours.
    fn from_partition(table: &Partitioned, name: &str) -> Option<Month> {
        let digits = name.strip_prefix(table.parent)?.strip_prefix("_p")?;
        if digits.len() != 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let year: i64 = digits[..4].parse().ok()?;
        let month: i64 = digits[4..].parse().ok()?;
        (1..=12)
            .contains(&month)
            .then_some(Month(year * 12 + month - 1))
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day counted from 1970-01-01: `(year, month, day)`.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

impl PostgresStore {
    /// Creates the months from the current one to its `months_ahead` for both tables.
    pub(crate) fn prepare_partitions_pg(&self, now: Timestamp) -> StoreResult<()> {
        for table in [EVENTS, EXPOSURES] {
            let first = Month::of(now);
            let wanted: Vec<Month> = (0..=table.months_ahead).map(|i| first.plus(i)).collect();
            let names: Vec<String> = wanted.iter().map(|m| m.partition(&table)).collect();
            // One read finds the months missing; most starts find none.
            let missing: Vec<String> = self.read(|c| {
                Ok(c.query(
                    "SELECT n FROM unnest($1::text[]) AS t (n) WHERE to_regclass(quote_ident(n)) IS NULL",
                    &[&names],
                )?
                .iter()
                .map(|r| r.try_get(0))
                .collect::<Result<_, _>>()?)
            })?;
            for month in wanted
                .into_iter()
                .filter(|m| missing.contains(&m.partition(&table)))
            {
                self.write(|tx| create_month(tx, &table, month))?;
            }
        }
        Ok(())
    }

    /// Drops every month of `events` wholly expired at `now`, queueing its subjects' profiles
    /// for [`PostgresStore::rebuild_queued_profiles_pg`]. Returns how many events went.
    pub(crate) fn drop_expired_events_pg(&self, now: Timestamp) -> StoreResult<u64> {
        let mut n = 0;
        for (name, _) in self.expired_months(&EVENTS, now.as_millis())? {
            n += self
                .write(|tx| {
                    drop_within_lock_timeout(tx, &name, &mut |tx| {
                        // Rows cannot move in or out while the partition is held in SHARE
                        // mode, so every subject with a row in it is queued.
                        let sql = format!(
                            "WITH s AS (
                                SELECT subject_key, count(*) AS n,
                                       bool_or(interaction IS NOT NULL) AS feeds
                                FROM ONLY \"{name}\" GROUP BY subject_key
                             ), q AS (
                                INSERT INTO profile_rebuilds (subject_key, queued_at)
                                SELECT subject_key, $1 FROM s WHERE feeds
                                ON CONFLICT (subject_key) DO NOTHING
                             )
                             SELECT coalesce(sum(n), 0)::bigint FROM s"
                        );
                        Ok(tx.query_one(&sql, &[&now.as_millis()])?.try_get(0)?)
                    })
                })?
                .map_or(0, |n: i64| u64::try_from(n).unwrap_or(0));
        }
        Ok(n)
    }

    /// Drops every month of `exposure_lists` wholly before `before`.
    pub(crate) fn drop_exposures_before_pg(
        &self,
        before: Timestamp,
    ) -> StoreResult<DeletedExposures> {
        let mut deleted = DeletedExposures::default();
        for (name, _) in self.expired_months(&EXPOSURES, before.as_millis())? {
            let counted = self.write(|tx| {
                drop_within_lock_timeout(tx, &name, &mut |tx| {
                    let r = tx.query_one(
                        &format!(
                            "SELECT count(*), coalesce(sum(n_items), 0)::bigint FROM ONLY \"{name}\""
                        ),
                        &[],
                    )?;
                    Ok((r.try_get::<_, i64>(0)?, r.try_get::<_, i64>(1)?))
                })
            })?;
            if let Some((lists, exposures)) = counted {
                deleted.lists += u64::try_from(lists).unwrap_or(0);
                deleted.exposures += u64::try_from(exposures).unwrap_or(0);
            }
        }
        Ok(deleted)
    }

    /// Rebuilds the profiles of up to `limit` queued subjects; returns how many it took from
    /// the queue. A subject with no profile left (erased meanwhile, or whose events fed none)
    /// leaves the queue without one being made.
    pub(crate) fn rebuild_queued_profiles_pg(
        &self,
        limit: u32,
        half_life_days: f64,
        now: Timestamp,
    ) -> StoreResult<u64> {
        self.write_with(|tx, statements| {
            // SKIP LOCKED: instances running retention at once take disjoint chunks.
            let taken: Vec<Vec<u8>> = tx
                .query(
                    "DELETE FROM profile_rebuilds WHERE subject_key IN (
                        SELECT subject_key FROM profile_rebuilds ORDER BY subject_key
                        LIMIT $1 FOR UPDATE SKIP LOCKED)
                     RETURNING subject_key",
                    &[&i64::from(limit)],
                )?
                .iter()
                .map(|r| r.try_get(0))
                .collect::<Result<_, _>>()?;
            let with_profile: Vec<SubjectKey> = tx
                .query(
                    "SELECT subject_key FROM profiles WHERE subject_key = ANY($1)",
                    &[&taken],
                )?
                .iter()
                .map(|r| r.try_get::<_, Vec<u8>>(0))
                .collect::<Result<Vec<_>, _>>()?
                .into_iter()
                .filter_map(|k| <[u8; 32]>::try_from(k.as_slice()).ok())
                .map(SubjectKey::from_bytes)
                .collect();
            profiles::rebuild(&mut PgConn::new(tx, statements), with_profile, half_life_days, now)?;
            Ok(taken.len() as u64)
        })
    }

    /// The months of `table` whose upper bound is at or before `bound_ms`, oldest first.
    fn expired_months(
        &self,
        table: &Partitioned,
        bound_ms: i64,
    ) -> StoreResult<Vec<(String, Month)>> {
        let names: Vec<String> = self.read(|c| {
            Ok(c.query(
                "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                 WHERE i.inhparent = to_regclass($1)",
                &[&table.parent],
            )?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?)
        })?;
        let mut months: Vec<(String, Month)> = names
            .into_iter()
            .filter_map(|n| Month::from_partition(table, &n).map(|m| (n, m)))
            .filter(|(_, m)| m.end_ms() <= bound_ms)
            .collect();
        months.sort_by_key(|(_, m)| *m);
        Ok(months)
    }
}

impl crate::sql::Partitions for PostgresStore {
    fn prepare_partitions_impl(&self, now: Timestamp) -> StoreResult<()> {
        self.prepare_partitions_pg(now)
    }

    fn drop_expired_events_impl(&self, now: Timestamp) -> StoreResult<u64> {
        self.drop_expired_events_pg(now)
    }

    fn drop_exposures_before_impl(&self, before: Timestamp) -> StoreResult<DeletedExposures> {
        self.drop_exposures_before_pg(before)
    }

    fn rebuild_queued_profiles_impl(
        &self,
        limit: u32,
        half_life_days: f64,
        now: Timestamp,
    ) -> StoreResult<u64> {
        self.rebuild_queued_profiles_pg(limit, half_life_days, now)
    }
}

/// Creates one month of `table` unless it exists, moving its rows out of the DEFAULT partition.
fn create_month(tx: &mut Transaction<'_>, table: &Partitioned, month: Month) -> DbResult<()> {
    let parent = table.parent;
    tx.batch_execute(&format!(
        "LOCK TABLE \"{parent}\" IN SHARE UPDATE EXCLUSIVE MODE"
    ))?;
    let name = month.partition(table);
    let exists: bool = tx
        .query_one("SELECT to_regclass(quote_ident($1)) IS NOT NULL", &[&name])?
        .try_get(0)?;
    if exists {
        return Ok(());
    }
    let (lo, hi, column) = (month.start_ms(), month.end_ms(), table.column);
    // Attaching scans the DEFAULT partition for rows of the new month: there are none left
    // once they are moved, and the new table's CHECK spares the scan of the table itself.
    tx.batch_execute(&format!(
        "CREATE TABLE \"{name}\" (LIKE \"{parent}\",
            CONSTRAINT \"{name}_bounds\" CHECK ({column} >= {lo} AND {column} < {hi}));
         WITH moved AS (
            DELETE FROM ONLY \"{parent}_default\" WHERE {column} >= {lo} AND {column} < {hi}
            RETURNING *)
         INSERT INTO \"{name}\" SELECT * FROM moved;
         ALTER TABLE \"{parent}\" ATTACH PARTITION \"{name}\" FOR VALUES FROM ({lo}) TO ({hi});
         ALTER TABLE \"{name}\" DROP CONSTRAINT \"{name}_bounds\";"
    ))?;
    Ok(())
}

/// Runs `note` (what must be remembered of the partition `name` before it goes) with the
/// partition held in SHARE mode, then drops it, waiting for each lock at most
/// [`LOCK_TIMEOUT_MS`]. `None` when a lock was not granted in time: nothing happened.
fn drop_within_lock_timeout<T>(
    tx: &mut Transaction<'_>,
    name: &str,
    note: &mut dyn FnMut(&mut Transaction<'_>) -> DbResult<T>,
) -> DbResult<Option<T>> {
    tx.batch_execute(&format!("SET LOCAL lock_timeout = {LOCK_TIMEOUT_MS}"))?;
    let mut sp = tx.transaction()?;
    let outcome = sp
        .batch_execute(&format!("LOCK TABLE ONLY \"{name}\" IN SHARE MODE"))
        .map_err(Into::into)
        .and_then(|()| note(&mut sp))
        .and_then(|v| {
            sp.batch_execute(&format!("DROP TABLE \"{name}\""))?;
            Ok(v)
        });
    match outcome {
        Ok(v) => {
            sp.commit()?;
            Ok(Some(v))
        }
        Err(crate::sql::DbError::Pg(e)) if sqlstate(&e) == Some("55P03") => {
            sp.rollback()?;
            tracing::info!(
                partition = name,
                "a partition due to be dropped is in use; its rows are deleted one by one"
            );
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_round_trip_through_their_names_and_bounds() {
        let t = Timestamp::parse_rfc3339("2026-12-07T05:40:00Z").unwrap();
        let m = Month::of(t);
        assert_eq!(m.partition(&EVENTS), "events_p202612");
        assert_eq!(
            Timestamp::from_millis(m.start_ms()).to_rfc3339(),
            "2026-12-01T00:00:00.000Z"
        );
        assert_eq!(
            Timestamp::from_millis(m.end_ms()).to_rfc3339(),
            "2027-01-01T00:00:00.000Z"
        );
        assert_eq!(m.plus(2).partition(&EXPOSURES), "exposure_lists_p202702");
        assert_eq!(Month::from_partition(&EVENTS, "events_p202612"), Some(m));
        assert_eq!(Month::from_partition(&EVENTS, "events_default"), None);
        assert_eq!(Month::from_partition(&EVENTS, "events_p202613"), None);
        assert_eq!(Month::from_partition(&EXPOSURES, "events_p202612"), None);
        let leap = Month::of(Timestamp::parse_rfc3339("2024-02-29T23:59:59Z").unwrap());
        assert_eq!(
            Timestamp::from_millis(leap.end_ms()).to_rfc3339(),
            "2024-03-01T00:00:00.000Z"
        );
        assert_eq!(
            Month::of(Timestamp::EPOCH).partition(&EVENTS),
            "events_p197001"
        );
        assert_eq!(
            Month::of(Timestamp::from_millis(-1)).partition(&EVENTS),
            "events_p196912"
        );
    }
}
