//! Experiments: definitions, sticky assignments, the exposures of lists shown under an arm,
//! and the report's reads (exposed people's events and withdrawals).

use candor_domain::SubjectKey;
use candor_domain::time::Timestamp;

use super::{Conn, DbResult, Row, SqlBackend, bad_row, params};
use crate::{
    AssignmentRecord, ConsentDecision, ExperimentEvent, ExperimentExposure, ExperimentRecord,
    ExperimentStatus, ExperimentStore, SequentialRecord, StoreError, StoreResult,
};

const EXPERIMENT_COLUMNS: &str = "id, definition, policy_version, status, created_at, stopped_at";
const ASSIGNMENT_COLUMNS: &str = "experiment_id, subject_key, arm, assigned_at";
const EXPOSURE_COLUMNS: &str = "experiment_id, subject_key, arm, list_id, at";

/// The people an experiment exposed, for the report's reads.
const EXPOSED: &str =
    "SELECT DISTINCT subject_key FROM experiment_exposures WHERE experiment_id = ?1";

fn experiment_from_row(r: &dyn Row) -> DbResult<ExperimentRecord> {
    let status = r.text(3)?;
    Ok(ExperimentRecord {
        id: r.text(0)?,
        definition: r.text(1)?,
        policy_version: r.text(2)?,
        status: ExperimentStatus::parse(&status)
            .ok_or_else(|| bad_row("experiment status", &status))?,
        created_at: r.time(4)?,
        stopped_at: r.opt_time(5)?,
    })
}

fn assignment_from_row(r: &dyn Row) -> DbResult<AssignmentRecord> {
    Ok(AssignmentRecord {
        experiment_id: r.text(0)?,
        subject: r.key(1)?,
        arm: r.text(2)?,
        assigned_at: r.time(3)?,
    })
}

fn exposure_from_row(r: &dyn Row) -> DbResult<ExperimentExposure> {
    Ok(ExperimentExposure {
        experiment_id: r.text(0)?,
        subject: r.key(1)?,
        arm: r.text(2)?,
        list_id: r.opt_text(3)?,
        at: r.time(4)?,
    })
}

fn assignment_of(
    c: &mut dyn Conn,
    experiment_id: &str,
    subject: &SubjectKey,
) -> DbResult<Option<AssignmentRecord>> {
    c.query_opt(
        &format!(
            "SELECT {ASSIGNMENT_COLUMNS} FROM experiment_assignments
             WHERE experiment_id = ?1 AND subject_key = ?2"
        ),
        params![experiment_id, subject],
        assignment_from_row,
    )
}

/// Inserts an assignment; `replace` overwrites one already there (identify), otherwise the
/// stored one is kept.
fn put(c: &mut dyn Conn, a: &AssignmentRecord, replace: bool) -> DbResult<()> {
    let on_conflict = if replace {
        "DO UPDATE SET arm = excluded.arm, assigned_at = excluded.assigned_at"
    } else {
        "DO NOTHING"
    };
    c.execute(
        &format!(
            "INSERT INTO experiment_assignments (experiment_id, subject_key, arm, assigned_at)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (subject_key, experiment_id) {on_conflict}"
        ),
        params![&a.experiment_id, &a.subject, &a.arm, a.assigned_at],
    )
    .map(drop)
}

/// Exposures per multi-row statement: five parameters each, well under both databases' limits.
const EXPOSURES_PER_STATEMENT: usize = 200;

fn insert_exposures(c: &mut dyn Conn, exposures: &[ExperimentExposure]) -> DbResult<()> {
    for chunk in exposures.chunks(EXPOSURES_PER_STATEMENT) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|i| {
                let b = i * 5;
                format!(
                    "(?{}, ?{}, ?{}, ?{}, ?{})",
                    b + 1,
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5
                )
            })
            .collect();
        let mut values = Vec::with_capacity(chunk.len() * 5);
        for e in chunk {
            values.extend(params![
                &e.experiment_id,
                &e.subject,
                &e.arm,
                e.list_id.as_ref(),
                e.at
            ]);
        }
        c.execute(
            &format!(
                "INSERT INTO experiment_exposures (experiment_id, subject_key, arm, list_id, at)
                 VALUES {}",
                rows.join(", ")
            ),
            &values,
        )?;
    }
    Ok(())
}

impl<B: SqlBackend> ExperimentStore for B {
    fn insert_experiment(&self, e: &ExperimentRecord) -> StoreResult<()> {
        self.write_sql(&mut |c| {
            c.execute(
                "INSERT INTO experiments (id, definition, policy_version, status, created_at, stopped_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    &e.id,
                    &e.definition,
                    &e.policy_version,
                    e.status.as_str(),
                    e.created_at,
                    e.stopped_at
                ],
            )
            .map(drop)
        })
    }

    fn experiment(&self, id: &str) -> StoreResult<Option<ExperimentRecord>> {
        self.read_sql(&mut |c| {
            c.query_opt(
                &format!("SELECT {EXPERIMENT_COLUMNS} FROM experiments WHERE id = ?1"),
                params![id],
                experiment_from_row,
            )
        })
    }

    fn experiments(&self) -> StoreResult<Vec<ExperimentRecord>> {
        self.read_sql(&mut |c| {
            c.query(
                &format!(
                    "SELECT {EXPERIMENT_COLUMNS} FROM experiments ORDER BY created_at, id COLLATE \"C\""
                ),
                params![],
                experiment_from_row,
            )
        })
    }

    fn stop_experiment(&self, id: &str, definition: &str, at: Timestamp) -> StoreResult<()> {
        let n = self.write_sql(&mut |c| {
            c.execute(
                "UPDATE experiments SET definition = ?2, status = 'stopped', stopped_at = ?3
                 WHERE id = ?1",
                params![id, definition, at],
            )
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
        self.read_sql(&mut |c| assignment_of(c, experiment_id, subject))
    }

    fn put_assignment(&self, a: &AssignmentRecord) -> StoreResult<AssignmentRecord> {
        self.write_sql(&mut |c| {
            put(c, a, false)?;
            assignment_of(c, &a.experiment_id, &a.subject)?
                .ok_or_else(|| bad_row("assignment", "missing after its insert"))
        })
    }

    fn assignments_for_subject(&self, subject: &SubjectKey) -> StoreResult<Vec<AssignmentRecord>> {
        self.read_sql(&mut |c| {
            c.query(
                &format!(
                    "SELECT {ASSIGNMENT_COLUMNS} FROM experiment_assignments
                     WHERE subject_key = ?1 ORDER BY assigned_at, experiment_id COLLATE \"C\""
                ),
                params![subject],
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
        self.write_sql(&mut |c| {
            c.execute(
                "DELETE FROM experiment_assignments WHERE subject_key = ?1",
                params![from],
            )?;
            for a in carried {
                let a = AssignmentRecord {
                    subject: *to,
                    ..a.clone()
                };
                put(c, &a, true)?;
            }
            c.execute(
                "UPDATE experiment_exposures SET subject_key = ?2 WHERE subject_key = ?1",
                params![from, to],
            )
            .map(drop)
        })
    }

    fn experiment_assignments(&self, experiment_id: &str) -> StoreResult<Vec<AssignmentRecord>> {
        self.read_sql(&mut |c| {
            c.query(
                &format!(
                    "SELECT {ASSIGNMENT_COLUMNS} FROM experiment_assignments
                     WHERE experiment_id = ?1"
                ),
                params![experiment_id],
                assignment_from_row,
            )
        })
    }

    fn record_experiment_exposures(&self, exposures: &[ExperimentExposure]) -> StoreResult<()> {
        self.record_served(&[], exposures)
    }

    fn record_served(
        &self,
        assignments: &[AssignmentRecord],
        exposures: &[ExperimentExposure],
    ) -> StoreResult<()> {
        if assignments.is_empty() && exposures.is_empty() {
            return Ok(());
        }
        self.write_sql(&mut |c| {
            for a in assignments {
                put(c, a, false)?;
            }
            insert_exposures(c, exposures)
        })
    }

    fn experiment_exposures(&self, experiment_id: &str) -> StoreResult<Vec<ExperimentExposure>> {
        self.read_sql(&mut |c| {
            c.query(
                &format!(
                    "SELECT {EXPOSURE_COLUMNS} FROM experiment_exposures
                     WHERE experiment_id = ?1 ORDER BY id"
                ),
                params![experiment_id],
                exposure_from_row,
            )
        })
    }

    fn experiment_exposures_for_subject(
        &self,
        subject: &SubjectKey,
    ) -> StoreResult<Vec<ExperimentExposure>> {
        self.read_sql(&mut |c| {
            c.query(
                &format!(
                    "SELECT {EXPOSURE_COLUMNS} FROM experiment_exposures
                     WHERE subject_key = ?1 ORDER BY id"
                ),
                params![subject],
                exposure_from_row,
            )
        })
    }

    fn experiment_events(
        &self,
        experiment_id: &str,
        since: Timestamp,
    ) -> StoreResult<Vec<ExperimentEvent>> {
        self.read_sql(&mut |c| {
            c.query(
                &format!(
                    "SELECT subject_key, event_type, item_id, properties, occurred_at FROM events
                     WHERE subject_key IN ({EXPOSED}) AND occurred_at >= ?2
                     ORDER BY id"
                ),
                params![experiment_id, since],
                |r| {
                    Ok(ExperimentEvent::from_stored(
                        r.key(0)?,
                        r.text(1)?,
                        r.opt_text(2)?,
                        &r.text(3)?,
                        r.time(4)?,
                    ))
                },
            )
        })
    }

    fn experiment_consent_decisions(
        &self,
        experiment_id: &str,
        purpose: &str,
    ) -> StoreResult<Vec<ConsentDecision>> {
        self.read_sql(&mut |c| {
            c.query(
                &format!(
                    "SELECT subject_key, decision, at FROM consents
                     WHERE purpose = ?2 AND subject_key IN ({EXPOSED})
                     ORDER BY subject_key, at, id"
                ),
                params![experiment_id, purpose],
                |r| {
                    Ok(ConsentDecision {
                        subject: r.key(0)?,
                        allowed: r.text(1)? == "granted",
                        at: r.time(2)?,
                    })
                },
            )
        })
    }

    fn sequential_states(&self, experiment_id: &str) -> StoreResult<Vec<SequentialRecord>> {
        self.read_sql(&mut |c| {
            c.query(
                "SELECT metric, arm, n_looks, p_value, ci_low, ci_high
                 FROM experiment_sequential WHERE experiment_id = ?1
                 ORDER BY metric COLLATE \"C\", arm COLLATE \"C\"",
                params![experiment_id],
                |r| {
                    Ok(SequentialRecord {
                        metric: r.text(0)?,
                        arm: r.text(1)?,
                        n_looks: u64::try_from(r.i64(2)?).unwrap_or(0),
                        p_value: r.f64(3)?,
                        ci_low: r.f64(4)?,
                        ci_high: r.f64(5)?,
                    })
                },
            )
        })
    }

    fn fold_sequential_states(
        &self,
        experiment_id: &str,
        states: &[SequentialRecord],
    ) -> StoreResult<()> {
        if states.is_empty() {
            return Ok(());
        }
        // `s` is the stored row, `excluded` the look's: the intersection unless empty.
        const DISJOINT: &str = "(excluded.ci_low > s.ci_high OR excluded.ci_high < s.ci_low)";
        self.write_sql(&mut |c| {
            for st in states {
                c.execute(
                    &format!(
                        "INSERT INTO experiment_sequential AS s
                           (experiment_id, metric, arm, n_looks, p_value, ci_low, ci_high)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                         ON CONFLICT (experiment_id, metric, arm) DO UPDATE SET
                           n_looks = CASE WHEN excluded.n_looks > s.n_looks
                                     THEN excluded.n_looks ELSE s.n_looks + 1 END,
                           p_value = CASE WHEN excluded.p_value < s.p_value
                                     THEN excluded.p_value ELSE s.p_value END,
                           ci_low = CASE WHEN {DISJOINT} OR excluded.ci_low < s.ci_low
                                    THEN s.ci_low ELSE excluded.ci_low END,
                           ci_high = CASE WHEN {DISJOINT} OR excluded.ci_high > s.ci_high
                                     THEN s.ci_high ELSE excluded.ci_high END"
                    ),
                    params![
                        experiment_id,
                        &st.metric,
                        &st.arm,
                        i64::try_from(st.n_looks).unwrap_or(i64::MAX),
                        st.p_value,
                        st.ci_low,
                        st.ci_high
                    ],
                )?;
            }
            Ok(())
        })
    }
}
