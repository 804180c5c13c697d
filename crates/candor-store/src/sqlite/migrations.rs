//! Versioned schema migrations. The database's `user_version` is the number of migrations
//! applied; each runs in its own transaction, so a crash leaves the schema at a whole version.
//! Never edit a migration that has shipped: append a new one.

pub(super) const MIGRATIONS: &[&str] = &[
    // 1: foundation — process metadata, subjects, consent ledger, contact data, API keys.
    r#"
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value BLOB NOT NULL
    ) STRICT;

    CREATE TABLE subjects (
        subject_key BLOB PRIMARY KEY,
        age_band    TEXT,
        country     TEXT,
        created_at  INTEGER NOT NULL
    ) STRICT, WITHOUT ROWID;

    -- Append-only: rows are never updated; only erasure deletes them.
    CREATE TABLE consents (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        subject_key     BLOB NOT NULL,
        purpose         TEXT NOT NULL,
        decision        TEXT NOT NULL,
        purpose_version TEXT NOT NULL,
        policy_version  TEXT NOT NULL,
        source          TEXT NOT NULL,
        bulk            INTEGER NOT NULL,
        evidence        TEXT NOT NULL,
        at              INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX consents_by_subject ON consents (subject_key, id);

    -- One random key per subject; deleting the row makes their contact data unreadable.
    CREATE TABLE subject_keys (
        subject_key BLOB PRIMARY KEY,
        data_key    BLOB NOT NULL,
        created_at  INTEGER NOT NULL
    ) STRICT, WITHOUT ROWID;

    CREATE TABLE contact (
        subject_key BLOB NOT NULL,
        field       TEXT NOT NULL,
        sealed      BLOB NOT NULL,
        PRIMARY KEY (subject_key, field)
    ) STRICT, WITHOUT ROWID;

    CREATE TABLE api_keys (
        id              TEXT PRIMARY KEY,
        secret_hash     BLOB NOT NULL,
        scopes          TEXT NOT NULL,
        allowed_origins TEXT NOT NULL,
        label           TEXT NOT NULL,
        created_at      INTEGER NOT NULL
    ) STRICT;
    "#,
    // 2: ingestion — catalog, events with their purposes and expiry, idempotency keys,
    // anonymous drop counters, interest profiles, recorded merges.
    r#"
    CREATE TABLE items (
        item_id     TEXT PRIMARY KEY,
        title       TEXT NOT NULL,
        categories  TEXT NOT NULL,
        attributes  TEXT NOT NULL,
        restricted  TEXT NOT NULL,
        provider    TEXT NOT NULL,
        updated_at  INTEGER NOT NULL
    ) STRICT;

    CREATE TABLE events (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        subject_key  BLOB NOT NULL,
        event_type   TEXT NOT NULL,
        item_id      TEXT,
        properties   TEXT NOT NULL,
        purposes     TEXT NOT NULL,
        occurred_at  INTEGER NOT NULL,
        received_at  INTEGER NOT NULL,
        expires_at   INTEGER NOT NULL,
        session_only INTEGER NOT NULL,
        -- How the event feeds the interest profile; NULL when no personalization purpose allows it.
        interaction  TEXT
    ) STRICT;
    CREATE INDEX events_by_subject ON events (subject_key, id);
    CREATE INDEX events_by_expiry ON events (expires_at);

    -- Keyed hashes of message ids seen recently; a repeat is acknowledged, not stored twice.
    CREATE TABLE seen_messages (
        message_hash BLOB PRIMARY KEY,
        seen_at      INTEGER NOT NULL
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX seen_messages_by_time ON seen_messages (seen_at);

    -- Events not stored move only these counters: no identifier of any kind.
    CREATE TABLE drop_counters (
        day         INTEGER NOT NULL,
        event_type  TEXT NOT NULL,
        reason      TEXT NOT NULL,
        n           INTEGER NOT NULL,
        PRIMARY KEY (day, event_type, reason)
    ) STRICT, WITHOUT ROWID;

    CREATE TABLE profiles (
        subject_key BLOB PRIMARY KEY,
        profile     TEXT NOT NULL,
        updated_at  INTEGER NOT NULL
    ) STRICT, WITHOUT ROWID;

    CREATE TABLE merges (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        from_key    BLOB NOT NULL,
        to_key      BLOB NOT NULL,
        n_events    INTEGER NOT NULL,
        purposes    TEXT NOT NULL,
        at          INTEGER NOT NULL
    ) STRICT;
    "#,
    // 3: recommendation preferences — muted categories, hidden items, paused personalization;
    // generation counters that tell every instance when its caches are stale.
    r#"
    CREATE TABLE generations (
        name   TEXT PRIMARY KEY,
        value  INTEGER NOT NULL
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE preferences (
        subject_key  BLOB PRIMARY KEY,
        preferences  TEXT NOT NULL,
        updated_at   INTEGER NOT NULL
    ) STRICT, WITHOUT ROWID;
    "#,
    // 4 (data-subject rights) — restrictions, muted interests, erasure intents, consent-proof
    // tombstones and the request log. Self-contained: it only creates its own tables.
    r#"
    CREATE TABLE restrictions (
        subject_key BLOB PRIMARY KEY,
        since       INTEGER NOT NULL
    ) STRICT, WITHOUT ROWID;

    -- Interests a person asked us to forget; profile updates leave these categories out.
    CREATE TABLE muted_interests (
        subject_key BLOB NOT NULL,
        category    TEXT NOT NULL,
        at          INTEGER NOT NULL,
        PRIMARY KEY (subject_key, category)
    ) STRICT, WITHOUT ROWID;

    -- Written before an erasure deletes anything and removed when it is done, so an erasure
    -- interrupted by a crash is finished on the next start.
    CREATE TABLE erasure_intents (
        subject_key BLOB PRIMARY KEY,
        request_id  INTEGER NOT NULL,
        tombstone   BLOB,
        started_at  INTEGER NOT NULL,
        counts      TEXT
    ) STRICT, WITHOUT ROWID;

    -- Consent proof kept after erasure, under a one-way keyed hash of the subject; no evidence.
    CREATE TABLE consent_tombstones (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        proof           BLOB NOT NULL,
        purpose         TEXT NOT NULL,
        decision        TEXT NOT NULL,
        source          TEXT NOT NULL,
        purpose_version TEXT NOT NULL,
        policy_version  TEXT NOT NULL,
        at              INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX consent_tombstones_by_proof ON consent_tombstones (proof, id);

    -- Every data-subject request, under a keyed hash of the subject (never the key itself).
    CREATE TABLE dsr_requests (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        kind         TEXT NOT NULL,
        subject_ref  BLOB NOT NULL,
        jurisdiction TEXT NOT NULL,
        received_at  INTEGER NOT NULL,
        deadline_at  INTEGER NOT NULL,
        completed_at INTEGER,
        status       TEXT NOT NULL,
        detail       TEXT NOT NULL
    ) STRICT;
    CREATE INDEX dsr_requests_by_subject ON dsr_requests (subject_ref, kind, id);
    CREATE INDEX dsr_requests_by_status ON dsr_requests (status, id);
    "#,
    // 3: accountability — the hash-chained audit log, sealed audit attributes, exposures.
    r#"
    -- Append-only. `pos` is the storage order the chain is verified in; `seq` is the chain's
    -- own numbering, covered by each entry's hash. `target` holds pseudonymous references only.
    CREATE TABLE audit_log (
        pos        INTEGER PRIMARY KEY AUTOINCREMENT,
        seq        INTEGER NOT NULL UNIQUE,
        at         INTEGER NOT NULL,
        actor      TEXT NOT NULL,
        action     TEXT NOT NULL,
        target     TEXT NOT NULL,
        purpose    TEXT,
        details    TEXT NOT NULL,
        prev_hash  BLOB NOT NULL,
        hash       BLOB NOT NULL
    ) STRICT;

    -- Self-declared protected attributes, sealed with the subject's data key. Read only by
    -- the fairness audit.
    CREATE INDEX audit_log_by_action ON audit_log (action, pos);

    CREATE TABLE audit_attributes (
        subject_key BLOB PRIMARY KEY,
        sealed      BLOB NOT NULL,
        updated_at  INTEGER NOT NULL
    ) STRICT, WITHOUT ROWID;

    CREATE TABLE exposures (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        subject_key  BLOB NOT NULL,
        slot         TEXT NOT NULL,
        item_id      TEXT NOT NULL,
        rank         INTEGER NOT NULL,
        at           INTEGER NOT NULL,
        personalized INTEGER NOT NULL,
        provider     TEXT NOT NULL
    ) STRICT;
    CREATE INDEX exposures_by_slot ON exposures (slot, at);
    CREATE INDEX exposures_by_subject ON exposures (subject_key, id);
    "#,
    // 5: segments and campaigns — saved segments and campaigns, audience runs with their
    // per-subject outcomes, the delivery outbox (which is also the ledger caps count),
    // unsubscribes and declared time zones. Every subject-keyed table is erased by subject.
    r#"
    CREATE TABLE segments (
        id          TEXT PRIMARY KEY,
        name        TEXT NOT NULL,
        purpose     TEXT NOT NULL,
        rule        TEXT NOT NULL,
        created_at  INTEGER NOT NULL
    ) STRICT;

    CREATE TABLE campaigns (
        id          TEXT PRIMARY KEY,
        segment_id  TEXT NOT NULL REFERENCES segments (id),
        spec        TEXT NOT NULL,
        created_at  INTEGER NOT NULL
    ) STRICT;

    CREATE TABLE campaign_runs (
        id          TEXT PRIMARY KEY,
        campaign_id TEXT NOT NULL,
        at          INTEGER NOT NULL
    ) STRICT;

    CREATE TABLE run_outcomes (
        run_id      TEXT NOT NULL,
        subject_key BLOB NOT NULL,
        selected    INTEGER NOT NULL,
        reason      TEXT,
        PRIMARY KEY (run_id, subject_key)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX run_outcomes_by_subject ON run_outcomes (subject_key);

    CREATE TABLE deliveries (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        subject_key     BLOB NOT NULL,
        campaign_id     TEXT NOT NULL,
        run_id          TEXT NOT NULL,
        channel         TEXT NOT NULL,
        at              INTEGER NOT NULL,
        idempotency_key TEXT NOT NULL UNIQUE,
        -- NULL for messages the caller showed itself: counted for caps, never posted.
        payload         TEXT,
        attempts        INTEGER NOT NULL,
        next_attempt_at INTEGER NOT NULL,
        delivered_at    INTEGER,
        last_error      TEXT
    ) STRICT;
    CREATE INDEX deliveries_by_subject ON deliveries (subject_key, at);
    CREATE INDEX deliveries_by_run ON deliveries (run_id, id);
    CREATE INDEX deliveries_due ON deliveries (next_attempt_at)
        WHERE payload IS NOT NULL AND delivered_at IS NULL;

    CREATE TABLE unsubscribes (
        subject_key BLOB NOT NULL,
        channel     TEXT NOT NULL,
        at          INTEGER NOT NULL,
        PRIMARY KEY (subject_key, channel)
    ) STRICT, WITHOUT ROWID;

    CREATE TABLE subject_time_zones (
        subject_key BLOB PRIMARY KEY,
        time_zone   TEXT NOT NULL
    ) STRICT, WITHOUT ROWID;
    "#,
    // 6: fairness flags and held deliveries — a campaign run whose demographic parity ratio
    // fell below four-fifths is flagged when it commits; with the policy's hold switch its
    // deliveries stay out of the outbox until an operator acknowledges. No subject data: a
    // flag holds only the aggregate ratio.
    r#"
    CREATE TABLE fairness_flags (
        run_id               TEXT PRIMARY KEY,
        campaign_id          TEXT NOT NULL,
        parity_ratio         REAL NOT NULL,
        flagged_at           INTEGER NOT NULL,
        held                 INTEGER NOT NULL DEFAULT 0,
        acknowledged_at      INTEGER,
        acknowledgement_note TEXT
    ) STRICT;
    CREATE INDEX fairness_flags_by_campaign ON fairness_flags (campaign_id, flagged_at);

    ALTER TABLE deliveries ADD COLUMN held INTEGER NOT NULL DEFAULT 0;
    DROP INDEX deliveries_due;
    CREATE INDEX deliveries_due ON deliveries (next_attempt_at)
        WHERE payload IS NOT NULL AND delivered_at IS NULL AND held = 0;
    CREATE INDEX deliveries_held ON deliveries (campaign_id) WHERE held = 1;
    "#,
    // 7: covering indexes for audience runs — a run reads every subject's consents, profile
    // events and recent deliveries in key order; with an index on the key alone, each row was
    // a second lookup in the table, scattered across the file, and most of a run's time. These
    // replace the key-only indexes (same leading columns, so point reads of one subject use
    // them as before) and carry every column those reads return.
    r#"
    DROP INDEX consents_by_subject;
    CREATE INDEX consents_by_subject ON consents
        (subject_key, id, purpose, decision, purpose_version, policy_version, source, bulk, evidence, at);
    DROP INDEX events_by_subject;
    CREATE INDEX events_by_subject ON events
        (subject_key, id, interaction, occurred_at, item_id, properties);
    -- Also what caps count: a run's page of recent deliveries and a commit's grouped cap
    -- counts read only these columns, not the rows with their payloads.
    DROP INDEX deliveries_by_subject;
    CREATE INDEX deliveries_by_subject ON deliveries (subject_key, at, campaign_id, channel);
    "#,
    // 9: compact run outcomes — a run writes one outcome per known subject, twice (the row and
    // the by-subject index), and each repeated the run's 24-character id and the reason's
    // text. Runs get a small integer alias, reasons a code from a table of their own, and
    // `selected` is what it always was: no reason.
    r#"
    CREATE TABLE campaign_runs_v8 (
        seq         INTEGER PRIMARY KEY,
        id          TEXT NOT NULL UNIQUE,
        campaign_id TEXT NOT NULL,
        at          INTEGER NOT NULL
    ) STRICT;
    INSERT INTO campaign_runs_v8 (seq, id, campaign_id, at)
        SELECT rowid, id, campaign_id, at FROM campaign_runs;
    DROP TABLE campaign_runs;
    ALTER TABLE campaign_runs_v8 RENAME TO campaign_runs;

    CREATE TABLE outcome_reasons (
        code   INTEGER PRIMARY KEY,
        reason TEXT NOT NULL UNIQUE
    ) STRICT;
    INSERT INTO outcome_reasons (reason)
        SELECT DISTINCT reason FROM run_outcomes WHERE reason IS NOT NULL ORDER BY reason;

    CREATE TABLE run_outcomes_v8 (
        run         INTEGER NOT NULL,
        subject_key BLOB NOT NULL,
        -- outcome_reasons.code; NULL when selected.
        reason      INTEGER,
        PRIMARY KEY (run, subject_key)
    ) STRICT, WITHOUT ROWID;
    INSERT INTO run_outcomes_v8 (run, subject_key, reason)
        SELECT r.seq, o.subject_key, c.code
        FROM run_outcomes o
        JOIN campaign_runs r ON r.id = o.run_id
        LEFT JOIN outcome_reasons c ON c.reason = o.reason;
    DROP TABLE run_outcomes;
    ALTER TABLE run_outcomes_v8 RENAME TO run_outcomes;
    CREATE INDEX run_outcomes_by_subject ON run_outcomes (subject_key);
    "#,
    // 10: the serving history from the index alone — a recommendations request reads every
    // event of its subject that names an item, and the purposes and expiry that decide whether
    // each may still feed personalization were only in the table row: one extra lookup per
    // event. The by-subject index now carries them too.
    r#"
    DROP INDEX events_by_subject;
    CREATE INDEX events_by_subject ON events
        (subject_key, id, interaction, occurred_at, item_id, properties, purposes, expires_at);
    "#,
    // 11: one exposure row per served list — a list of ten wrote ten rows and ten entries in
    // the by-subject index, the largest write of a recommendations request. Rows of one list
    // share subject, slot, time and kind; their items move into a JSON array in rank order.
    r#"
    CREATE TABLE exposure_lists (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        subject_key  BLOB NOT NULL,
        slot         TEXT NOT NULL,
        at           INTEGER NOT NULL,
        personalized INTEGER NOT NULL,
        -- [[rank, item_id, provider], ...] in the order served.
        items        TEXT NOT NULL,
        n_items      INTEGER NOT NULL
    ) STRICT;
    INSERT INTO exposure_lists (subject_key, slot, at, personalized, items, n_items)
        SELECT subject_key, slot, at, personalized,
               json_group_array(json_array(rank, item_id, provider)), count(*)
        FROM (SELECT * FROM exposures ORDER BY subject_key, slot, at, personalized, rank, id)
        GROUP BY subject_key, slot, at, personalized
        ORDER BY min(id);
    DROP TABLE exposures;
    CREATE INDEX exposure_lists_by_slot ON exposure_lists (slot, at);
    CREATE INDEX exposure_lists_by_subject ON exposure_lists (subject_key, id);
    "#,
    // 12: key lifetimes and session tokens — API keys get an expiry (rotation's grace period)
    // and a revocation time; keys that sign visitor and subject tokens, sealed under the server
    // secret; per-subject markers that void every token issued before an instant. A marker is
    // not subject data and is not erased with the subject: it keeps an erased person's old
    // tokens void until they have expired anyway.
    r#"
    ALTER TABLE api_keys ADD COLUMN expires_at INTEGER;
    ALTER TABLE api_keys ADD COLUMN revoked_at INTEGER;

    -- AUTOINCREMENT: ids only ever increase, even after old keys are deleted.
    CREATE TABLE token_keys (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        sealed      BLOB NOT NULL,
        created_at  INTEGER NOT NULL,
        retired_at  INTEGER
    ) STRICT;

    CREATE TABLE token_revocations (
        subject_key BLOB PRIMARY KEY,
        not_before  INTEGER NOT NULL,
        keep_until  INTEGER NOT NULL
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX token_revocations_by_expiry ON token_revocations (keep_until);
    "#,
    // 13: wrapped data keys — each subject's data key is stored sealed under a key-encryption
    // key (KEK) derived from the server secret and a salt kept here, so the database file
    // alone unwraps nothing (`crate::wrap`). `kek_id` names the KEK that wraps a row; the
    // keys stored before have none and are wrapped by the first start that knows the secret.
    // The index finds the rows a start or a rotation still has to re-wrap.
    r#"
    -- AUTOINCREMENT: ids only ever increase, and the highest wraps new keys.
    CREATE TABLE keks (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        salt        BLOB NOT NULL,
        check_tag   BLOB NOT NULL,
        created_at  INTEGER NOT NULL,
        retired_at  INTEGER
    ) STRICT;
    ALTER TABLE subject_keys ADD COLUMN kek_id INTEGER REFERENCES keks (id);
    CREATE INDEX subject_keys_by_kek ON subject_keys (kek_id);
    "#,
    // 14: experiments — definitions as validated JSON; each person's sticky arm; the lists
    // actually shown under an arm. Assignments and exposures are subject data (erased,
    // exported, counted in the footprint). Exposures are read per experiment for reports and
    // per subject for access requests and identify.
    r#"
    CREATE TABLE experiments (
        id             TEXT PRIMARY KEY,
        definition     TEXT NOT NULL,
        policy_version TEXT NOT NULL,
        status         TEXT NOT NULL,
        created_at     INTEGER NOT NULL,
        stopped_at     INTEGER
    ) STRICT;
    CREATE TABLE experiment_assignments (
        subject_key   BLOB NOT NULL,
        experiment_id TEXT NOT NULL,
        arm           TEXT NOT NULL,
        assigned_at   INTEGER NOT NULL,
        PRIMARY KEY (subject_key, experiment_id)
    ) STRICT;
    CREATE TABLE experiment_exposures (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        experiment_id TEXT NOT NULL,
        subject_key   BLOB NOT NULL,
        arm           TEXT NOT NULL,
        list_id       TEXT,
        at            INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX experiment_exposures_by_experiment ON experiment_exposures (experiment_id, subject_key);
    CREATE INDEX experiment_exposures_by_subject ON experiment_exposures (subject_key, id);
    "#,
    // 15: private analytics — what each report family has spent of its privacy budget per
    // day, and the reports released, so a repeated query returns the same numbers instead of
    // fresh noise. Aggregates only: nothing here is about one subject.
    r#"
    CREATE TABLE analytics_budgets (
        family          TEXT NOT NULL,
        period_day      INTEGER NOT NULL,
        epsilon_micros  INTEGER NOT NULL,
        delta_units     INTEGER NOT NULL,
        PRIMARY KEY (family, period_day)
    ) STRICT, WITHOUT ROWID;

    CREATE TABLE analytics_releases (
        family      TEXT NOT NULL,
        query       TEXT NOT NULL,
        report      TEXT NOT NULL,
        released_at INTEGER NOT NULL,
        PRIMARY KEY (family, query)
    ) STRICT, WITHOUT ROWID;
    "#,
    // 16: the last day each released report covers, so releases are pruned a grace after
    // their days have ended (the budgets stay); releases made before it are pruned by age.
    r#"
    ALTER TABLE analytics_releases ADD COLUMN last_day INTEGER;
    "#,
    // 17: experiments' running always-valid state — per experiment, metric and arm, the
    // smallest mSPRT p-value and the intersection of the intervals over every look at the
    // report, so a later look never reports what an earlier one's running bound excludes.
    // Aggregates only: nothing here is about one subject.
    r#"
    CREATE TABLE experiment_sequential (
        experiment_id TEXT NOT NULL,
        metric        TEXT NOT NULL,
        arm           TEXT NOT NULL,
        n_looks       INTEGER NOT NULL,
        p_value       REAL NOT NULL,
        ci_low        REAL NOT NULL,
        ci_high       REAL NOT NULL,
        PRIMARY KEY (experiment_id, metric, arm)
    ) STRICT, WITHOUT ROWID;
    "#,
];

#[cfg(test)]
mod tests {
    use super::MIGRATIONS;
    use rusqlite::Connection;

    #[test]
    fn compacting_outcomes_keeps_every_earlier_run() {
        let conn = Connection::open_in_memory().unwrap();
        for sql in &MIGRATIONS[..8] {
            conn.execute_batch(sql).unwrap();
        }
        conn.execute_batch(
            "INSERT INTO campaign_runs (id, campaign_id, at) VALUES ('run-a', 'spring', 10), ('run-b', 'spring', 20);
             INSERT INTO run_outcomes (run_id, subject_key, selected, reason) VALUES
                 ('run-a', x'01', 1, NULL), ('run-a', x'02', 0, 'no_consent'),
                 ('run-b', x'01', 0, 'frequency_cap');",
        )
        .unwrap();
        conn.execute_batch(MIGRATIONS[8]).unwrap();
        let rows: Vec<(String, i64, Vec<u8>, Option<String>)> = conn
            .prepare(
                "SELECT r.id, r.at, o.subject_key, c.reason FROM run_outcomes o
                 JOIN campaign_runs r ON r.seq = o.run
                 LEFT JOIN outcome_reasons c ON c.code = o.reason
                 ORDER BY r.seq, o.subject_key",
            )
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(
            rows,
            [
                ("run-a".to_owned(), 10, vec![1], None),
                (
                    "run-a".to_owned(),
                    10,
                    vec![2],
                    Some("no_consent".to_owned())
                ),
                (
                    "run-b".to_owned(),
                    20,
                    vec![1],
                    Some("frequency_cap".to_owned())
                ),
            ]
        );
    }

    #[test]
    fn a_subjects_history_is_read_from_the_index_alone() {
        let conn = Connection::open_in_memory().unwrap();
        for sql in MIGRATIONS {
            conn.execute_batch(sql).unwrap();
        }
        let plan: Vec<String> = conn
            .prepare(&format!(
                "EXPLAIN QUERY PLAN {}",
                crate::model::history_sql("?1")
            ))
            .unwrap()
            .query_map([&[7u8; 32][..]], |r| r.get(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(
            plan,
            ["SEARCH events USING COVERING INDEX events_by_subject (subject_key=?)"],
            "no table lookup per event, and no sort"
        );
    }

    #[test]
    fn keys_created_before_lifetimes_stay_live() {
        let conn = Connection::open_in_memory().unwrap();
        for sql in &MIGRATIONS[..11] {
            conn.execute_batch(sql).unwrap();
        }
        conn.execute_batch(
            "INSERT INTO api_keys (id, secret_hash, scopes, allowed_origins, label, created_at)
             VALUES ('k1', x'00', 'ingest', '', 'web', 5);",
        )
        .unwrap();
        conn.execute_batch(MIGRATIONS[11]).unwrap();
        let lifetimes: (Option<i64>, Option<i64>) = conn
            .query_row(
                "SELECT expires_at, revoked_at FROM api_keys WHERE id = 'k1'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(lifetimes, (None, None), "no expiry, not revoked");
    }

    #[test]
    fn single_exposures_become_the_lists_they_were_served_in() {
        let conn = Connection::open_in_memory().unwrap();
        for sql in &MIGRATIONS[..10] {
            conn.execute_batch(sql).unwrap();
        }
        // Two lists for one subject and slot, and one for another subject; rows out of rank
        // order within a list.
        conn.execute_batch(
            "INSERT INTO exposures (subject_key, slot, item_id, rank, at, personalized, provider) VALUES
                 (x'01', 'home', 'b', 2, 10, 1, 'acme'),
                 (x'01', 'home', 'a', 1, 10, 1, 'zenith'),
                 (x'02', 'home', 'c', 1, 10, 0, 'acme'),
                 (x'01', 'home', 'd', 1, 20, 1, 'acme');",
        )
        .unwrap();
        conn.execute_batch(MIGRATIONS[10]).unwrap();
        let rows: Vec<(Vec<u8>, i64, bool, String, i64)> = conn
            .prepare(
                "SELECT subject_key, at, personalized, items, n_items FROM exposure_lists ORDER BY id",
            )
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let items = |text: &str| -> Vec<(u32, String, String)> {
            let mut items: Vec<(u32, String, String)> = serde_json::from_str(text).unwrap();
            items.sort();
            items
        };
        assert_eq!(rows.len(), 3);
        assert_eq!(
            (rows[0].0.clone(), rows[0].1, rows[0].2, rows[0].4),
            (vec![1], 10, true, 2)
        );
        assert_eq!(
            items(&rows[0].3),
            [
                (1, "a".to_owned(), "zenith".to_owned()),
                (2, "b".to_owned(), "acme".to_owned())
            ]
        );
        assert_eq!(
            (rows[1].0.clone(), rows[1].1, rows[1].2, rows[1].4),
            (vec![2], 10, false, 1)
        );
        assert_eq!(items(&rows[1].3), [(1, "c".to_owned(), "acme".to_owned())]);
        assert_eq!((rows[2].0.clone(), rows[2].1, rows[2].4), (vec![1], 20, 1));
        let gone: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE name = 'exposures'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(gone, 0);
    }
}
