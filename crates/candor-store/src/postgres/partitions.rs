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
//! Retention removes a wholly expired month in two steps. First it detaches the partition and
//! renames it `<table>_xYYYYMM`: an ACCESS EXCLUSIVE lock on the parent for an instant, no row
//! read (with a DEFAULT partition there is nothing to validate), and from then on no query of
//! the table sees the month. The lock is waited for at most [`LOCK_TIMEOUT_MS`]: if a long
//! transaction holds the table, the month stays for the next pass and the row-by-row deletion
//! that follows in the same pass removes its rows meanwhile, so retention is never late
//! because of a lock. Then, for every detached month (an earlier pass cut off between the two
//! steps leaves one), it notes what the month held — the people whose profiles it fed, queued
//! for rebuilding, and how many rows went — and drops the table, in one transaction. That step
//! reads every row of the month, but holds nothing that ingestion, serving or another month
//! needs; only an erasure of someone with rows in the month waits for it. Erasure reaches
//! the detached months through `candor_erase_detached` (migration 17).

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
        self.name(table, "_p")
    }

    /// The name the month's partition takes once detached, until it is dropped:
    /// `<parent>_xYYYYMM`.
    pub(crate) fn detached(self, table: &Partitioned) -> String {
        self.name(table, "_x")
    }

    /// `<parent><tag>YYYYMM`, read back by [`Month::from_name`].
    fn name(self, table: &Partitioned, tag: &str) -> String {
        format!(
            "{}{tag}{:04}{:02}",
            table.parent,
            self.0.div_euclid(12),
            self.0.rem_euclid(12) + 1
        )
    }

    /// The month a partition's name stands for, when it is one of ours.
    fn from_partition(table: &Partitioned, name: &str) -> Option<Month> {
        Month::from_name(table, name, "_p")
    }

    /// The month a detached partition's name stands for, when it is one of ours.
    fn from_detached(table: &Partitioned, name: &str) -> Option<Month> {
        Month::from_name(table, name, "_x")
    }

    fn from_name(table: &Partitioned, name: &str, tag: &str) -> Option<Month> {
        let digits = name.strip_prefix(table.parent)?.strip_prefix(tag)?;
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

    /// Removes every month of `events` wholly expired at `now`: detaches it (its rows leave
    /// every query at once), then, for each detached month (those of an earlier pass cut off
    /// before the drop as well), queues its subjects' profiles for
    /// [`PostgresStore::rebuild_queued_profiles_pg`] and drops it. Returns how many events went.
    pub(crate) fn drop_expired_events_pg(&self, now: Timestamp) -> StoreResult<u64> {
        self.detach_expired_months(&EVENTS, now.as_millis())?;
        let mut n = 0;
        for name in self.detached_months(&EVENTS)? {
            n += self
                .write(|tx| {
                    retire(tx, &name, &mut |tx| {
                        let sql = format!(
                            "WITH s AS (
                                SELECT subject_key, count(*) AS n,
                                       bool_or(interaction IS NOT NULL) AS feeds
                                FROM \"{name}\" GROUP BY subject_key
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

    /// Only the first step of [`PostgresStore::drop_expired_events_pg`]: detaches every month
    /// of `events` wholly expired at `now`, leaving its rows in a table of their own that the
    /// next retention pass counts, notes and drops. Returns how many months it detached.
    pub fn detach_expired_event_months(&self, now: Timestamp) -> StoreResult<usize> {
        self.detach_expired_months(&EVENTS, now.as_millis())
    }

    /// Removes every month of `exposure_lists` wholly before `before`, as
    /// [`PostgresStore::drop_expired_events_pg`] does months of events.
    pub(crate) fn drop_exposures_before_pg(
        &self,
        before: Timestamp,
    ) -> StoreResult<DeletedExposures> {
        self.detach_expired_months(&EXPOSURES, before.as_millis())?;
        let mut deleted = DeletedExposures::default();
        for name in self.detached_months(&EXPOSURES)? {
            let counted = self.write(|tx| {
                retire(tx, &name, &mut |tx| {
                    let r = tx.query_one(
                        &format!(
                            "SELECT count(*), coalesce(sum(n_items), 0)::bigint FROM \"{name}\""
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

    /// Detaches every month of `table` whose upper bound is at or before `bound_ms`, each in
    /// a transaction of its own, renaming it [`Month::detached`]. A month whose lock is not
    /// granted within [`LOCK_TIMEOUT_MS`] stays for the next pass. Returns how many went.
    fn detach_expired_months(&self, table: &Partitioned, bound_ms: i64) -> StoreResult<usize> {
        let mut n = 0;
        for (name, month) in self.expired_months(table, bound_ms)? {
            let detached = month.detached(table);
            if self.write(|tx| detach(tx, table.parent, &name, &detached))? {
                n += 1;
            }
        }
        Ok(n)
    }

    /// The detached months of `table` awaiting their drop, oldest first.
    fn detached_months(&self, table: &Partitioned) -> StoreResult<Vec<String>> {
        // A range on the name (`<parent>_x` ≤ name < `<parent>_y`) reads the catalog's name
        // index; a prefix test would read all of `pg_class`, which churn can leave large.
        let months = self.months_named(
            "SELECT relname::text FROM pg_class
             WHERE relname >= $1::name AND relname < (left($1, -1) || 'y')::name
               AND relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
               AND relkind = 'r' AND NOT relispartition",
            &format!("{}_x", table.parent),
            |n| Month::from_detached(table, n),
        )?;
        Ok(months.into_iter().map(|(n, _)| n).collect())
    }

    /// The tables the query `sql` (of one text parameter, `param`) names, with the month each
    /// stands for by `month`, oldest first; names that stand for none are left out.
    fn months_named(
        &self,
        sql: &str,
        param: &str,
        month: impl Fn(&str) -> Option<Month>,
    ) -> StoreResult<Vec<(String, Month)>> {
        let names: Vec<String> = self.read(|c| {
            Ok(c.query(sql, &[&param])?
                .iter()
                .map(|r| r.try_get(0))
                .collect::<Result<_, _>>()?)
        })?;
        let mut months: Vec<(String, Month)> = names
            .into_iter()
            .filter_map(|n| month(&n).map(|m| (n, m)))
            .collect();
        months.sort_by_key(|(_, m)| *m);
        Ok(months)
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
                    "SELECT subject_key FROM profiles WHERE subject_key IN (SELECT unnest($1::bytea[]))",
                    &[&taken],
                )?
                .iter()
                .map(|r| r.try_get::<_, Vec<u8>>(0))
                .collect::<Result<Vec<_>, _>>()?
                .into_iter()
                .filter_map(|k| <[u8; 32]>::try_from(k.as_slice()).ok())
                .map(SubjectKey::from_bytes)
                .collect();
            profiles::rebuild(
                &mut PgConn::new(tx, statements),
                with_profile,
                half_life_days,
                now,
            )?;
            Ok(taken.len() as u64)
        })
    }

    /// The months of `table` whose upper bound is at or before `bound_ms`, oldest first.
    fn expired_months(
        &self,
        table: &Partitioned,
        bound_ms: i64,
    ) -> StoreResult<Vec<(String, Month)>> {
        let mut months = self.months_named(
            "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
             WHERE i.inhparent = to_regclass($1)",
            table.parent,
            |n| Month::from_partition(table, n),
        )?;
        months.retain(|(_, m)| m.end_ms() <= bound_ms);
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

/// Detaches the partition `name` from `parent` and renames it `detached`, waiting for the
/// locks at most [`LOCK_TIMEOUT_MS`]. `false` when a lock was not granted in time or another
/// instance detached it first: nothing happened here.
fn detach(tx: &mut Transaction<'_>, parent: &str, name: &str, detached: &str) -> DbResult<bool> {
    tx.batch_execute(&format!("SET LOCAL lock_timeout = {LOCK_TIMEOUT_MS}"))?;
    let mut sp = tx.transaction()?;
    // With a DEFAULT partition there is nothing to validate: no row is read.
    let outcome = sp.batch_execute(&format!(
        "ALTER TABLE \"{parent}\" DETACH PARTITION \"{name}\";
         ALTER TABLE \"{name}\" RENAME TO \"{detached}\";"
    ));
    match outcome {
        Ok(()) => {
            sp.commit()?;
            Ok(true)
        }
        Err(e) if sqlstate(&e) == Some("55P03") => {
            sp.rollback()?;
            tracing::info!(
                partition = name,
                "a partition due to be dropped is in use; its rows are deleted one by one"
            );
            Ok(false)
        }
        // Another instance's retention pass detached it (or dropped it) first.
        Err(e) if sqlstate(&e) == Some("42P01") => {
            sp.rollback()?;
            Ok(false)
        }
        Err(e) => Err(e.into()),
    }
}

/// Runs `note` (what must be remembered of the detached month `name` before it goes), then
/// drops it. The SHARE ROW EXCLUSIVE lock conflicts with itself and with an erasure deleting
/// the month's rows: two instances never count a month twice, and an erasure waits until the
/// month is gone (or removes its rows before it is noted). `None` when another instance
/// dropped it first.
fn retire<T>(
    tx: &mut Transaction<'_>,
    name: &str,
    note: &mut dyn FnMut(&mut Transaction<'_>) -> DbResult<T>,
) -> DbResult<Option<T>> {
    let mut sp = tx.transaction()?;
    match sp.batch_execute(&format!(
        "LOCK TABLE \"{name}\" IN SHARE ROW EXCLUSIVE MODE"
    )) {
        Ok(()) => {}
        Err(e) if sqlstate(&e) == Some("42P01") => {
            sp.rollback()?;
            return Ok(None);
        }
        Err(e) => return Err(e.into()),
    }
    let v = note(&mut sp)?;
    sp.batch_execute(&format!("DROP TABLE \"{name}\""))?;
    sp.commit()?;
    Ok(Some(v))
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
        assert_eq!(m.detached(&EVENTS), "events_x202612");
        assert_eq!(Month::from_detached(&EVENTS, "events_x202612"), Some(m));
        assert_eq!(Month::from_detached(&EVENTS, "events_p202612"), None);
        assert_eq!(Month::from_partition(&EVENTS, "events_x202612"), None);
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
