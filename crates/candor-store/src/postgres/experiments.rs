//! Experiments on PostgreSQL: the statements of `crate::experiments`, with `$N` placeholders.

use candor_domain::SubjectKey;
use candor_domain::time::Timestamp;
use postgres::{GenericClient, Row};

use super::campaigns::key_from;
use super::{DbResult, PostgresStore, bad_row};
use crate::experiments::{
    ASSIGNMENT_COLUMNS, DELETE_ASSIGNMENTS, EXPERIMENT_COLUMNS, EXPERIMENT_EVENTS,
    EXPERIMENT_WITHDRAWALS, EXPOSURE_COLUMNS, INSERT_EXPERIMENT, INSERT_EXPOSURE, MOVE_EXPOSURES,
    STOP_EXPERIMENT, postgres_sql, put_assignment_sql,
};
use crate::{
    AssignmentRecord, ExperimentEvent, ExperimentExposure, ExperimentRecord, ExperimentStatus,
    ExperimentStore, StoreError, StoreResult, Withdrawal,
};

fn experiment_from_row(r: &Row) -> DbResult<ExperimentRecord> {
    let status: String = r.get(3);
    Ok(ExperimentRecord {
        id: r.get(0),
        definition: r.get(1),
        policy_version: r.get(2),
        status: ExperimentStatus::parse(&status)
            .ok_or_else(|| bad_row("experiment status", &status))?,
        created_at: Timestamp::from_millis(r.get(4)),
        stopped_at: r.get::<_, Option<i64>>(5).map(Timestamp::from_millis),
    })
}

fn assignment_from_row(r: &Row) -> DbResult<AssignmentRecord> {
    Ok(AssignmentRecord {
        experiment_id: r.get(0),
        subject: key_from(r.get(1))?,
        arm: r.get(2),
        assigned_at: Timestamp::from_millis(r.get(3)),
    })
}

fn exposure_from_row(r: &Row) -> DbResult<ExperimentExposure> {
    Ok(ExperimentExposure {
        experiment_id: r.get(0),
        subject: key_from(r.get(1))?,
        arm: r.get(2),
        list_id: r.get(3),
        at: Timestamp::from_millis(r.get(4)),
    })
}

fn query<T>(
    c: &mut impl GenericClient,
    sql: &str,
    params: &[&(dyn postgres::types::ToSql + Sync)],
    row: impl Fn(&Row) -> DbResult<T>,
) -> DbResult<Vec<T>> {
    c.query(&postgres_sql(sql), params)?
        .iter()
        .map(row)
        .collect()
}

fn assignment_of(
    c: &mut impl GenericClient,
    experiment_id: &str,
    subject: &SubjectKey,
) -> DbResult<Option<AssignmentRecord>> {
    let sql = format!(
        "SELECT {ASSIGNMENT_COLUMNS} FROM experiment_assignments
         WHERE experiment_id = ?1 AND subject_key = ?2"
    );
    let key = subject.as_bytes().as_slice();
    let rows = query(c, &sql, &[&experiment_id, &key], assignment_from_row)?;
    Ok(rows.into_iter().next())
}

fn put(c: &mut impl GenericClient, a: &AssignmentRecord, replace: bool) -> DbResult<()> {
    c.execute(
        &postgres_sql(put_assignment_sql(replace)),
        &[
            &a.experiment_id,
            &a.subject.as_bytes().as_slice(),
            &a.arm,
            &a.assigned_at.as_millis(),
        ],
    )?;
    Ok(())
}

impl ExperimentStore for PostgresStore {
    fn insert_experiment(&self, e: &ExperimentRecord) -> StoreResult<()> {
        self.write(|tx| {
            tx.execute(
                &postgres_sql(INSERT_EXPERIMENT),
                &[
                    &e.id,
                    &e.definition,
                    &e.policy_version,
                    &e.status.as_str(),
                    &e.created_at.as_millis(),
                    &e.stopped_at.map(Timestamp::as_millis),
                ],
            )?;
            Ok(())
        })
    }

    fn experiment(&self, id: &str) -> StoreResult<Option<ExperimentRecord>> {
        self.read(|c| {
            let sql = format!("SELECT {EXPERIMENT_COLUMNS} FROM experiments WHERE id = ?1");
            Ok(query(c, &sql, &[&id], experiment_from_row)?
                .into_iter()
                .next())
        })
    }

    fn experiments(&self) -> StoreResult<Vec<ExperimentRecord>> {
        self.read(|c| {
            let sql =
                format!("SELECT {EXPERIMENT_COLUMNS} FROM experiments ORDER BY created_at, id");
            query(c, &sql, &[], experiment_from_row)
        })
    }

    fn stop_experiment(&self, id: &str, definition: &str, at: Timestamp) -> StoreResult<()> {
        let n = self.write(|tx| {
            Ok(tx.execute(
                &postgres_sql(STOP_EXPERIMENT),
                &[&id, &definition, &at.as_millis()],
            )?)
        })?;
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
        self.read(|c| assignment_of(c, experiment_id, subject))
    }

    fn put_assignment(&self, a: &AssignmentRecord) -> StoreResult<AssignmentRecord> {
        self.write(|tx| {
            put(tx, a, false)?;
            assignment_of(tx, &a.experiment_id, &a.subject)?
                .ok_or_else(|| bad_row("assignment", "missing after insert"))
        })
    }

    fn assignments_for_subject(&self, subject: &SubjectKey) -> StoreResult<Vec<AssignmentRecord>> {
        self.read(|c| {
            let sql = format!(
                "SELECT {ASSIGNMENT_COLUMNS} FROM experiment_assignments
                 WHERE subject_key = ?1 ORDER BY assigned_at, experiment_id"
            );
            query(
                c,
                &sql,
                &[&subject.as_bytes().as_slice()],
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
        self.write(|tx| {
            let (from_bytes, to_bytes) = (from.as_bytes().as_slice(), to.as_bytes().as_slice());
            tx.execute(&postgres_sql(DELETE_ASSIGNMENTS), &[&from_bytes])?;
            for a in carried {
                let a = AssignmentRecord {
                    subject: *to,
                    ..a.clone()
                };
                put(tx, &a, true)?;
            }
            tx.execute(&postgres_sql(MOVE_EXPOSURES), &[&from_bytes, &to_bytes])?;
            Ok(())
        })
    }

    fn record_experiment_exposures(&self, exposures: &[ExperimentExposure]) -> StoreResult<()> {
        if exposures.is_empty() {
            return Ok(());
        }
        self.write(|tx| {
            let insert = tx.prepare(&postgres_sql(INSERT_EXPOSURE))?;
            for e in exposures {
                tx.execute(
                    &insert,
                    &[
                        &e.experiment_id,
                        &e.subject.as_bytes().as_slice(),
                        &e.arm,
                        &e.list_id,
                        &e.at.as_millis(),
                    ],
                )?;
            }
            Ok(())
        })
    }

    fn experiment_exposures(&self, experiment_id: &str) -> StoreResult<Vec<ExperimentExposure>> {
        self.read(|c| {
            let sql = format!(
                "SELECT {EXPOSURE_COLUMNS} FROM experiment_exposures WHERE experiment_id = ?1 ORDER BY id"
            );
            query(c, &sql, &[&experiment_id], exposure_from_row)
        })
    }

    fn experiment_exposures_for_subject(
        &self,
        subject: &SubjectKey,
    ) -> StoreResult<Vec<ExperimentExposure>> {
        self.read(|c| {
            let sql = format!(
                "SELECT {EXPOSURE_COLUMNS} FROM experiment_exposures WHERE subject_key = ?1 ORDER BY id"
            );
            query(c, &sql, &[&subject.as_bytes().as_slice()], exposure_from_row)
        })
    }

    fn experiment_events(
        &self,
        experiment_id: &str,
        since: Timestamp,
    ) -> StoreResult<Vec<ExperimentEvent>> {
        self.read(|c| {
            query(
                c,
                EXPERIMENT_EVENTS,
                &[&experiment_id, &since.as_millis()],
                |r| {
                    Ok(ExperimentEvent::from_stored(
                        key_from(r.get(0))?,
                        r.get(1),
                        r.get(2),
                        r.get::<_, &str>(3),
                        Timestamp::from_millis(r.get(4)),
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
        self.read(|c| {
            query(
                c,
                EXPERIMENT_WITHDRAWALS,
                &[&experiment_id, &purpose, &since.as_millis()],
                |r| {
                    Ok(Withdrawal {
                        subject: key_from(r.get(0))?,
                        at: Timestamp::from_millis(r.get(1)),
                    })
                },
            )
        })
    }
}
