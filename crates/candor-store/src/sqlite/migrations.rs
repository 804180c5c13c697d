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
];
