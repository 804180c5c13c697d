//! Experiments on SQLite: the statements of `crate::experiments` as they are.

use candor_domain::SubjectKey;
use candor_domain::time::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};

use super::campaigns::key_from;
use super::{SqliteStore, bad_row};
use crate::experiments::{
    ASSIGNMENT_COLUMNS, DELETE_ASSIGNMENTS, EXPERIMENT_COLUMNS, EXPERIMENT_EVENTS,
    EXPERIMENT_WITHDRAWALS, EXPOSURE_COLUMNS, INSERT_EXPERIMENT, INSERT_EXPOSURE, MOVE_EXPOSURES,
    STOP_EXPERIMENT, put_assignment_sql,
};
use crate::{
    AssignmentRecord, ExperimentEvent, ExperimentExposure, ExperimentRecord, ExperimentStatus,
    ExperimentStore, StoreError, StoreResult, Withdrawal,
};

fn experiment_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ExperimentRecord> {
    let status: String = r.get(3)?;
    Ok(ExperimentRecord {
        id: r.get(0)?,
        definition: r.get(1)?,
        policy_version: r.get(2)?,
        status: ExperimentStatus::parse(&status)
            .ok_or_else(|| bad_row("experiment status", &status))?,
        created_at: Timestamp::from_millis(r.get(4)?),
        stopped_at: r.get::<_, Option<i64>>(5)?.map(Timestamp::from_millis),
    })
}

fn assignment_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AssignmentRecord> {
    Ok(AssignmentRecord {
        experiment_id: r.get(0)?,
        subject: key_from(r.get(1)?)?,
        arm: r.get(2)?,
        assigned_at: Timestamp::from_millis(r.get(3)?),
    })
}

fn exposure_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ExperimentExposure> {
    Ok(ExperimentExposure {
        experiment_id: r.get(0)?,
        subject: key_from(r.get(1)?)?,
        arm: r.get(2)?,
        list_id: r.get(3)?,
        at: Timestamp::from_millis(r.get(4)?),
    })
}

fn query<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    row: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Vec<T>> {
    conn.prepare_cached(sql)?.query_map(params, row)?.collect()
}

fn assignment_of(
    conn: &Connection,
    experiment_id: &str,
    subject: &SubjectKey,
) -> rusqlite::Result<Option<AssignmentRecord>> {
    conn.prepare_cached(&format!(
        "SELECT {ASSIGNMENT_COLUMNS} FROM experiment_assignments
         WHERE experiment_id = ?1 AND subject_key = ?2"
    ))?
    .query_row(
        params![experiment_id, subject.as_bytes().as_slice()],
        assignment_from_row,
    )
    .optional()
}

fn put(conn: &Connection, a: &AssignmentRecord, replace: bool) -> rusqlite::Result<()> {
    conn.prepare_cached(put_assignment_sql(replace))?
        .execute(params![
            a.experiment_id,
            a.subject.as_bytes().as_slice(),
            a.arm,
            a.assigned_at.as_millis()
        ])?;
    Ok(())
}

impl ExperimentStore for SqliteStore {
    fn insert_experiment(&self, e: &ExperimentRecord) -> StoreResult<()> {
        self.write(|conn| {
            conn.execute(
                INSERT_EXPERIMENT,
                params![
                    e.id,
                    e.definition,
                    e.policy_version,
                    e.status.as_str(),
                    e.created_at.as_millis(),
                    e.stopped_at.map(Timestamp::as_millis)
                ],
            )?;
            Ok(())
        })
    }

    fn experiment(&self, id: &str) -> StoreResult<Option<ExperimentRecord>> {
        self.read(|conn| {
            conn.prepare_cached(&format!(
                "SELECT {EXPERIMENT_COLUMNS} FROM experiments WHERE id = ?1"
            ))?
            .query_row([id], experiment_from_row)
            .optional()
        })
    }

    fn experiments(&self) -> StoreResult<Vec<ExperimentRecord>> {
        self.read(|conn| {
            let sql =
                format!("SELECT {EXPERIMENT_COLUMNS} FROM experiments ORDER BY created_at, id");
            query(conn, &sql, [], experiment_from_row)
        })
    }

    fn stop_experiment(&self, id: &str, definition: &str, at: Timestamp) -> StoreResult<()> {
        let n = self
            .write(|conn| conn.execute(STOP_EXPERIMENT, params![id, definition, at.as_millis()]))?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    fn assignment(
        &self,
        experiment_id: &str,
        subject: &SubjectKey,
    ) -> StoreResult<Option<AssignmentRecord>> {
        self.read(|conn| assignment_of(conn, experiment_id, subject))
    }

    fn put_assignment(&self, a: &AssignmentRecord) -> StoreResult<AssignmentRecord> {
        self.write(|conn| {
            let tx = conn.transaction()?;
            put(&tx, a, false)?;
            let stored = assignment_of(&tx, &a.experiment_id, &a.subject)?;
            tx.commit()?;
            stored.ok_or(rusqlite::Error::QueryReturnedNoRows)
        })
    }

    fn assignments_for_subject(&self, subject: &SubjectKey) -> StoreResult<Vec<AssignmentRecord>> {
        self.read(|conn| {
            let sql = format!(
                "SELECT {ASSIGNMENT_COLUMNS} FROM experiment_assignments
                 WHERE subject_key = ?1 ORDER BY assigned_at, experiment_id"
            );
            query(
                conn,
                &sql,
                [subject.as_bytes().as_slice()],
                assignment_from_row,
            )
        })
    }

    fn carry_over_assignments(
        &self,
        from: &SubjectKey,
        to: &SubjectKey,
        carried: &[AssignmentRecord],
    ) -> StoreResult<()> {
        self.write(|conn| {
            let tx = conn.transaction()?;
            let (from, to_bytes) = (from.as_bytes().as_slice(), to.as_bytes().as_slice());
            tx.execute(DELETE_ASSIGNMENTS, [from])?;
            for a in carried {
                let a = AssignmentRecord {
                    subject: *to,
                    ..a.clone()
                };
                put(&tx, &a, true)?;
            }
            tx.execute(MOVE_EXPOSURES, params![from, to_bytes])?;
            tx.commit()
        })
    }

    fn record_experiment_exposures(&self, exposures: &[ExperimentExposure]) -> StoreResult<()> {
        if exposures.is_empty() {
            return Ok(());
        }
        self.write(|conn| {
            let tx = conn.transaction()?;
            {
                let mut insert = tx.prepare_cached(INSERT_EXPOSURE)?;
                for e in exposures {
                    insert.execute(params![
                        e.experiment_id,
                        e.subject.as_bytes().as_slice(),
                        e.arm,
                        e.list_id,
                        e.at.as_millis()
                    ])?;
                }
            }
            tx.commit()
        })
    }

    fn experiment_exposures(&self, experiment_id: &str) -> StoreResult<Vec<ExperimentExposure>> {
        self.read(|conn| {
            let sql = format!(
                "SELECT {EXPOSURE_COLUMNS} FROM experiment_exposures WHERE experiment_id = ?1 ORDER BY id"
            );
            query(conn, &sql, [experiment_id], exposure_from_row)
        })
    }

    fn experiment_exposures_for_subject(
        &self,
        subject: &SubjectKey,
    ) -> StoreResult<Vec<ExperimentExposure>> {
        self.read(|conn| {
            let sql = format!(
                "SELECT {EXPOSURE_COLUMNS} FROM experiment_exposures WHERE subject_key = ?1 ORDER BY id"
            );
            query(conn, &sql, [subject.as_bytes().as_slice()], exposure_from_row)
        })
    }

    fn experiment_events(
        &self,
        experiment_id: &str,
        since: Timestamp,
    ) -> StoreResult<Vec<ExperimentEvent>> {
        self.read(|conn| {
            query(
                conn,
                EXPERIMENT_EVENTS,
                params![experiment_id, since.as_millis()],
                |r| {
                    let properties: String = r.get(3)?;
                    Ok(ExperimentEvent::from_stored(
                        key_from(r.get(0)?)?,
                        r.get(1)?,
                        r.get(2)?,
                        &properties,
                        Timestamp::from_millis(r.get(4)?),
                    ))
                },
            )
        })
    }

    fn experiment_withdrawals(
        &self,
        experiment_id: &str,
        purpose: &str,
        since: Timestamp,
    ) -> StoreResult<Vec<Withdrawal>> {
        self.read(|conn| {
            query(
                conn,
                EXPERIMENT_WITHDRAWALS,
                params![experiment_id, purpose, since.as_millis()],
                |r| {
                    Ok(Withdrawal {
                        subject: key_from(r.get(0)?)?,
                        at: Timestamp::from_millis(r.get(1)?),
                    })
                },
            )
        })
    }
}
