//! Events and the catalog, outside the ingestion path (which each backend runs its own way):
//! pages of events, rewriting, merging and retention with the profiles they rebuild.

use candor_domain::SubjectKey;
use candor_domain::ids::PurposeId;
use candor_domain::policy::Interaction;
use candor_domain::time::Timestamp;

use candor_domain::profile::Profile;

use super::{
    Conn, DbResult, Ingest, Row, SqlBackend, Value, audit, bad_row, marks, params, profiles,
};
use crate::{
    CatalogItem, DeletedExposures, DropCount, EventBatch, EventRewrite, EventStore, Exposure,
    HistoryEvent, IngestCommit, InsertOutcome, Narrowed, Page, PageRequest, StoreResult,
    StoredEvent,
};

/// Ids per `IN` list: well under either backend's parameter limit.
const IDS_PER_STATEMENT: usize = 500;

pub(crate) const EVENT_COLUMNS: &str = "id, event_type, item_id, properties, purposes, occurred_at, received_at, expires_at, session_only, interaction";

pub(crate) fn purposes_text(p: &[PurposeId]) -> String {
    p.iter()
        .map(PurposeId::as_str)
        .collect::<Vec<_>>()
        .join(",")
}

pub(crate) fn event_from_row(r: &dyn Row) -> DbResult<StoredEvent> {
    let purposes = r.text(4)?;
    Ok(StoredEvent {
        id: r.i64(0)?,
        event_type: r.text(1)?,
        item_id: r.opt_text(2)?,
        properties: r.text(3)?,
        purposes: crate::model::purposes_from_text(&purposes).map_err(|p| bad_row("purpose", p))?,
        occurred_at: r.time(5)?,
        received_at: r.time(6)?,
        expires_at: r.time(7)?,
        session_only: r.bool(8)?,
        interaction: r.opt_text(9)?.as_deref().and_then(Interaction::parse),
    })
}

/// One row of [`crate::model::history_sql`].
pub(crate) fn history_from_row(r: &dyn Row) -> DbResult<HistoryEvent> {
    let interaction = r.text(1)?;
    let purposes = r.text(2)?;
    Ok(HistoryEvent {
        item_id: r.text(0)?,
        interaction: Interaction::parse(&interaction)
            .ok_or_else(|| bad_row("interaction", &interaction))?,
        purposes: crate::model::purposes_from_text(&purposes).map_err(|p| bad_row("purpose", p))?,
        occurred_at: r.time(3)?,
        expires_at: r.time(4)?,
    })
}

/// The catalog's columns after its insertion-order column.
const ITEM_COLUMNS: &str = "item_id, title, categories, attributes, restricted, provider";

fn item_from_row(r: &dyn Row) -> DbResult<(i64, CatalogItem)> {
    let cats = r.text(3)?;
    let restricted = r.text(5)?;
    Ok((
        r.i64(0)?,
        CatalogItem {
            id: r.text(1)?,
            title: r.text(2)?,
            categories: serde_json::from_str(&cats).map_err(|_| bad_row("categories", &cats))?,
            attributes: r.text(4)?,
            restricted: serde_json::from_str(&restricted)
                .map_err(|_| bad_row("restricted", &restricted))?,
            provider: r.text(6)?,
        },
    ))
}

pub(crate) fn upsert_items(
    c: &mut dyn Conn,
    items: &[CatalogItem],
    now: Timestamp,
) -> DbResult<()> {
    for it in items {
        let categories = serde_json::to_string(&it.categories).unwrap_or_else(|_| "[]".into());
        let restricted = serde_json::to_string(&it.restricted).unwrap_or_else(|_| "[]".into());
        c.execute(
            "INSERT INTO items (item_id, title, categories, attributes, restricted, provider, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (item_id) DO UPDATE SET title = excluded.title, categories = excluded.categories,
                attributes = excluded.attributes, restricted = excluded.restricted,
                provider = excluded.provider, updated_at = excluded.updated_at",
            params![&it.id, &it.title, &categories, &it.attributes, &restricted, &it.provider, now],
        )?;
    }
    Ok(())
}

pub(crate) fn item(c: &mut dyn Conn, id: &str) -> DbResult<Option<CatalogItem>> {
    let seq = c.dialect().item_seq();
    c.query_opt(
        &format!("SELECT {seq}, {ITEM_COLUMNS} FROM items WHERE item_id = ?1"),
        params![id],
        |r| item_from_row(r).map(|(_, it)| it),
    )
}

/// The catalog in insertion order.
pub(crate) fn items(c: &mut dyn Conn, page: PageRequest) -> DbResult<Page<CatalogItem>> {
    let limit = page.limit_clamped();
    let seq = c.dialect().item_seq();
    let rows = c.query(
        &format!(
            "SELECT {seq}, {ITEM_COLUMNS} FROM items WHERE {seq} > ?1 ORDER BY {seq} LIMIT ?2"
        ),
        params![page.after.unwrap_or(0), limit + 1],
        item_from_row,
    )?;
    Ok(super::paginate(rows, limit))
}

/// A page of a subject's events, newest first.
pub(crate) fn events(
    c: &mut dyn Conn,
    key: &SubjectKey,
    page: PageRequest,
) -> DbResult<Page<StoredEvent>> {
    let limit = page.limit_clamped();
    let rows = c.query(
        &format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE subject_key = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3"
        ),
        params![key, page.after.unwrap_or(i64::MAX), limit + 1],
        |r| event_from_row(r).map(|e| (e.id, e)),
    )?;
    Ok(super::paginate(rows, limit))
}

/// Every event of a subject, oldest first.
pub(crate) fn all_events(c: &mut dyn Conn, key: &SubjectKey) -> DbResult<Vec<StoredEvent>> {
    c.query(
        &format!("SELECT {EVENT_COLUMNS} FROM events WHERE subject_key = ?1 ORDER BY id"),
        params![key],
        event_from_row,
    )
}

/// Subjects with stored events after `after`, in key order. Keys compare bytewise on both
/// backends (BLOB, BYTEA); the empty key sorts before all others.
pub(crate) fn subjects_with_events(
    c: &mut dyn Conn,
    after: Option<&SubjectKey>,
    limit: u32,
) -> DbResult<Vec<SubjectKey>> {
    let after = after.map_or(&[][..], |k| k.as_bytes().as_slice());
    let keys = c.query(
        "SELECT DISTINCT subject_key FROM events WHERE subject_key > ?1 ORDER BY subject_key LIMIT ?2",
        params![after, limit],
        |r| r.blob(0),
    )?;
    Ok(keys
        .into_iter()
        .filter_map(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
        .map(SubjectKey::from_bytes)
        .collect())
}

/// Gives each of `narrowed` its new purposes, expiry and profile flag, moving it to `to`
/// when that is another subject.
fn narrow(
    c: &mut dyn Conn,
    from: &SubjectKey,
    to: &SubjectKey,
    narrowed: &[Narrowed],
) -> DbResult<()> {
    for n in narrowed {
        c.execute(
            "UPDATE events SET subject_key = ?3, purposes = ?4, expires_at = ?5,
                interaction = CASE WHEN ?6 THEN interaction ELSE NULL END
             WHERE id = ?1 AND subject_key = ?2",
            params![
                n.id,
                from,
                to,
                &purposes_text(&n.purposes),
                n.expires_at,
                n.feeds_profile
            ],
        )?;
    }
    Ok(())
}

/// Which events [`delete_ids`] may delete besides their ids: one subject's, or expired ones.
/// Either condition also lets PostgreSQL reach the rows through the primary key or skip the
/// partitions that cannot hold them, rather than probing every partition's id index.
#[derive(Clone, Copy)]
enum Among<'a> {
    Subject(&'a SubjectKey),
    ExpiredAt(Timestamp),
}

/// Deletes events by id among `among`; returns how many.
fn delete_ids(c: &mut dyn Conn, among: Among<'_>, ids: &[i64]) -> DbResult<u64> {
    let mut n = 0;
    for chunk in ids.chunks(IDS_PER_STATEMENT) {
        let (mut values, filter): (Vec<Value<'_>>, _) = match among {
            Among::Subject(s) => (vec![s.into()], "subject_key = ?1 AND "),
            Among::ExpiredAt(now) => (vec![now.into()], "expires_at <= ?1 AND "),
        };
        values.extend(chunk.iter().map(|id| Value::Int(*id)));
        n += c.execute(
            &format!(
                "DELETE FROM events WHERE {filter}id IN ({})",
                marks(2, chunk.len())
            ),
            &values,
        )?;
    }
    Ok(n)
}

/// Deletes and narrows a subject's events, then rebuilds their profile from what remains.
pub(crate) fn rewrite(
    c: &mut dyn Conn,
    subject: &SubjectKey,
    delete: &[i64],
    narrowed: &[Narrowed],
    half_life_days: f64,
    now: Timestamp,
) -> DbResult<()> {
    delete_ids(c, Among::Subject(subject), delete)?;
    narrow(c, subject, subject, narrowed)?;
    profiles::rebuild(c, vec![*subject], half_life_days, now)
}

/// Deletes up to `limit` expired events, rebuilds the profiles they fed and forgets message
/// ids older than the dedupe window. Returns how many events it deleted. On PostgreSQL this
/// runs after the wholly expired partitions are dropped: what it finds is the expired part of
/// the month under way (and of the DEFAULT partition).
pub(crate) fn delete_expired(
    c: &mut dyn Conn,
    now: Timestamp,
    limit: u32,
    half_life_days: f64,
    dedupe_window_ms: i64,
) -> DbResult<u64> {
    let victims = c.query(
        &format!(
            "SELECT id, subject_key FROM events WHERE expires_at <= ?1 ORDER BY expires_at LIMIT ?2{}",
            c.dialect().skip_locked()
        ),
        params![now, limit],
        |r| Ok((r.i64(0)?, r.blob(1)?)),
    )?;
    let ids: Vec<i64> = victims.iter().map(|(id, _)| *id).collect();
    let n = delete_ids(c, Among::ExpiredAt(now), &ids)?;
    let subjects = victims
        .iter()
        .filter_map(|(_, k)| <[u8; 32]>::try_from(k.as_slice()).ok())
        .map(SubjectKey::from_bytes)
        .collect();
    profiles::rebuild(c, subjects, half_life_days, now)?;
    c.execute(
        "DELETE FROM seen_messages WHERE seen_at < ?1",
        params![now.as_millis() - dedupe_window_ms],
    )?;
    Ok(n)
}

/// Moves events from one subject to another (identify), recording the merge, and rebuilds
/// both profiles.
pub(crate) fn merge(
    c: &mut dyn Conn,
    from: &SubjectKey,
    to: &SubjectKey,
    moved: &[Narrowed],
    half_life_days: f64,
    now: Timestamp,
) -> DbResult<()> {
    narrow(c, from, to, moved)?;
    let mut all: Vec<&str> = moved
        .iter()
        .flat_map(|n| n.purposes.iter().map(PurposeId::as_str))
        .collect();
    all.sort_unstable();
    all.dedup();
    c.execute(
        "INSERT INTO merges (from_key, to_key, n_events, purposes, at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![from, to, moved.len() as i64, &all.join(","), now],
    )?;
    profiles::rebuild(c, vec![*from, *to], half_life_days, now)
}

/// Anonymous counters of events not stored, since `since_day`.
pub(crate) fn drop_counts(c: &mut dyn Conn, since_day: i64) -> DbResult<Vec<DropCount>> {
    c.query(
        "SELECT day, event_type, reason, n FROM drop_counters WHERE day >= ?1
         ORDER BY day, event_type COLLATE \"C\", reason COLLATE \"C\"",
        params![since_day],
        |r| {
            Ok(DropCount {
                day: r.i64(0)?,
                event_type: r.text(1)?,
                reason: r.text(2)?,
                n: u64::try_from(r.i64(3)?).unwrap_or(0),
            })
        },
    )
}

impl<B: SqlBackend + Ingest> EventStore for B {
    fn upsert_items(&self, items: &[CatalogItem], now: Timestamp) -> StoreResult<()> {
        self.write_sql(&mut |c| upsert_items(c, items, now))
    }

    fn item(&self, id: &str) -> StoreResult<Option<CatalogItem>> {
        self.read_sql(&mut |c| item(c, id))
    }

    fn items(&self, page: PageRequest) -> StoreResult<Page<CatalogItem>> {
        self.read_sql(&mut |c| items(c, page))
    }

    fn insert_events(&self, batch: EventBatch) -> StoreResult<Vec<InsertOutcome>> {
        self.commit_ingest_impl(batch.into())
    }

    fn commit_ingest(&self, commit: IngestCommit) -> StoreResult<Vec<InsertOutcome>> {
        self.commit_ingest_impl(commit)
    }

    fn events(&self, key: &SubjectKey, page: PageRequest) -> StoreResult<Page<StoredEvent>> {
        self.read_sql(&mut |c| events(c, key, page))
    }

    fn all_events(&self, key: &SubjectKey) -> StoreResult<Vec<StoredEvent>> {
        self.read_sql(&mut |c| all_events(c, key))
    }

    fn subjects_with_events(
        &self,
        after: Option<&SubjectKey>,
        limit: u32,
    ) -> StoreResult<Vec<SubjectKey>> {
        self.read_sql(&mut |c| subjects_with_events(c, after, limit))
    }

    fn rewrite_events(
        &self,
        key: &SubjectKey,
        rewrite: &EventRewrite,
        half_life_days: f64,
        now: Timestamp,
    ) -> StoreResult<()> {
        self.write_sql(&mut |c| {
            self::rewrite(
                c,
                key,
                &rewrite.delete,
                &rewrite.narrow,
                half_life_days,
                now,
            )
        })
    }

    fn delete_expired(
        &self,
        now: Timestamp,
        limit: u32,
        half_life_days: f64,
        dedupe_window_ms: i64,
    ) -> StoreResult<u64> {
        let dropped = self.drop_expired_events_impl(now)?;
        let deleted = self
            .write_sql(&mut |c| delete_expired(c, now, limit, half_life_days, dedupe_window_ms))?;
        Ok(dropped + deleted)
    }

    fn prepare_partitions(&self, now: Timestamp) -> StoreResult<()> {
        self.prepare_partitions_impl(now)
    }

    fn rebuild_queued_profiles(
        &self,
        limit: u32,
        half_life_days: f64,
        now: Timestamp,
    ) -> StoreResult<u64> {
        self.rebuild_queued_profiles_impl(limit, half_life_days, now)
    }

    fn merge_events(
        &self,
        from: &SubjectKey,
        to: &SubjectKey,
        moved: &[Narrowed],
        half_life_days: f64,
        now: Timestamp,
    ) -> StoreResult<()> {
        self.write_sql(&mut |c| merge(c, from, to, moved, half_life_days, now))
    }

    fn profile(&self, key: &SubjectKey) -> StoreResult<Option<Profile>> {
        self.read_sql(&mut |c| profiles::load(c, key))
    }

    fn put_profile(&self, key: &SubjectKey, profile: &Profile, now: Timestamp) -> StoreResult<()> {
        self.write_sql(&mut |c| profiles::save(c, key, profile, now))
    }

    fn drop_counts(&self, since_day: i64) -> StoreResult<Vec<DropCount>> {
        self.read_sql(&mut |c| drop_counts(c, since_day))
    }

    fn mute_interest(&self, key: &SubjectKey, category: &str, now: Timestamp) -> StoreResult<bool> {
        self.write_sql(&mut |c| profiles::mute_interest(c, key, category, now))
    }

    fn muted_interests(&self, key: &SubjectKey) -> StoreResult<Vec<String>> {
        self.read_sql(&mut |c| profiles::muted(c, key))
    }

    fn record_exposures(&self, exposures: &[Exposure]) -> StoreResult<()> {
        self.write_sql(&mut |c| audit::record_exposures(c, exposures))
    }

    fn exposures_for_slot(
        &self,
        slot: &str,
        since: Timestamp,
        page: PageRequest,
    ) -> StoreResult<Page<Exposure>> {
        self.read_sql(&mut |c| audit::exposures_for_slot(c, slot, since, page))
    }

    fn exposures_for_subject(&self, key: &SubjectKey) -> StoreResult<Vec<Exposure>> {
        self.read_sql(&mut |c| audit::exposures_for_subject(c, key))
    }

    fn delete_exposures(&self, key: &SubjectKey) -> StoreResult<u64> {
        let (_, table, cond, weight) = crate::rights::subject_table("exposures");
        self.write_sql(&mut |c| super::rights::delete_weighted(c, table, cond, weight, key))
    }

    fn exposure_slots(&self, since: Timestamp, limit: u32) -> StoreResult<Vec<String>> {
        self.read_sql(&mut |c| {
            c.query(
                "SELECT DISTINCT slot FROM exposure_lists WHERE at >= ?1 ORDER BY slot LIMIT ?2",
                params![since, limit],
                |r| r.text(0),
            )
        })
    }

    fn delete_exposures_before(
        &self,
        before: Timestamp,
        limit: u32,
    ) -> StoreResult<DeletedExposures> {
        let dropped = self.drop_exposures_before_impl(before)?;
        let deleted = self.write_sql(&mut |c| audit::delete_exposures_before(c, before, limit))?;
        Ok(DeletedExposures {
            lists: dropped.lists + deleted.lists,
            exposures: dropped.exposures + deleted.exposures,
        })
    }
}
