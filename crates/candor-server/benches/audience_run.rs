//! An audience run through the store: generated subjects (consents, events, profiles) in an
//! embedded SQLite store, then a campaign with caps and quiet hours run over all of them —
//! dry (decide and count) and real (decide, store every outcome, reserve cap slots and queue
//! the deliveries in one transaction). Run with:
//!
//!     cargo bench -p candor-server --bench audience_run
//!
//! `CANDOR_BENCH_SUBJECTS` sets the number of subjects (default 100,000). The store lives in
//! /dev/shm when it exists, so set-up measures SQLite rather than the disk's fsync; the runs
//! themselves are read-heavy. Prints subjects/s, median of three runs of each kind.
//!
//! Generating a million subjects takes minutes. With `CANDOR_BENCH_STORE_CACHE=<dir>` the
//! generated store is kept in `<dir>` (one per subject count) and later invocations copy it
//! instead of generating again, so every invocation still starts from the same untouched
//! store. Delete the directory after a change to how subjects are stored.

use std::time::Instant;

use candor_app::campaigns::{self, Ctx, StoredCampaign, StoredCap};
use candor_app::config::{Config, Overrides};
use candor_domain::consent::{ConsentRecord, Decision as ConsentDecision, Source, SubjectFacts};
use candor_domain::policy::{Interaction, Policy};
use candor_domain::time::{DAY_MS, Timestamp};
use candor_domain::{PurposeId, SubjectKey};
use candor_store::prelude::*;
use candor_store::sqlite::SqliteStore;
use candor_store::{CampaignRecord, EventBatch, NewEvent, SegmentRecord};

// The allocator the `candor` binary runs with, so the run is measured as it is served.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SUBJECTS_DEFAULT: usize = 100_000;
const ROUNDS: usize = 3;
const SETUP_CHUNK: usize = 1_000;
const ZONES: [&str; 4] = ["Europe/Berlin", "America/New_York", "Asia/Tokyo", "UTC"];
const CATEGORIES: [&str; 4] = ["Running", "Comedy", "Drama", "Books"];

/// xorshift64*: deterministic test data without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn generate(store: &SqliteStore, policy: &Policy, n: usize, now: Timestamp) {
    let mut rng = Rng(0x00c0_ffee);
    let purpose = |name: &str| policy.purpose_by_name(name).unwrap();
    let record = |name: &str| ConsentRecord {
        purpose: purpose(name).id.clone(),
        decision: ConsentDecision::Granted,
        purpose_version: purpose(name).version.clone(),
        policy_version: policy.version.clone(),
        source: Source::Banner,
        bulk: false,
        evidence: "{}".into(),
        at: now.plus_millis(-DAY_MS * 60),
    };
    let started = Instant::now();
    let mut batch = Vec::new();
    for i in 0..n {
        let mut key = [0u8; 32];
        for chunk in key.chunks_exact_mut(8) {
            chunk.copy_from_slice(&rng.next().to_le_bytes());
        }
        let key = SubjectKey::from_bytes(key);
        let mut records = vec![record("personalization")];
        if rng.below(100) < 85 {
            records.push(record("email_marketing"));
        }
        store
            .append_consents(&key, &SubjectFacts::default(), &records, now)
            .unwrap();
        if rng.below(100) < 50 {
            store
                .set_time_zone(&key, ZONES[rng.below(ZONES.len() as u64) as usize])
                .unwrap();
        }
        for j in 0..rng.below(6) {
            let at = now.plus_millis(-(rng.below(40 * DAY_MS as u64) as i64) - 1);
            let mut hash = [0u8; 32];
            hash[..8].copy_from_slice(&(i as u64).to_le_bytes());
            hash[8..16].copy_from_slice(&j.to_le_bytes());
            let category = CATEGORIES[rng.below(CATEGORIES.len() as u64) as usize];
            batch.push(NewEvent {
                subject: key,
                message_hash: hash,
                event_type: "Product Viewed".into(),
                item_id: None,
                properties: format!("{{\"category\":\"{category}\"}}"),
                purposes: vec![PurposeId::parse("personalization").unwrap()],
                occurred_at: at,
                expires_at: now.plus_days(365),
                session_only: false,
                profile: Some(Interaction::View),
            });
        }
        if (i + 1) % SETUP_CHUNK == 0 || i + 1 == n {
            store
                .insert_events(EventBatch {
                    events: std::mem::take(&mut batch),
                    drops: Vec::new(),
                    now: Some(now),
                    half_life_days: 14.0,
                    dedupe_window_ms: DAY_MS,
                })
                .unwrap();
        }
    }
    println!(
        "generated {n} subjects in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn main() {
    let n: usize = std::env::var("CANDOR_BENCH_SUBJECTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(SUBJECTS_DEFAULT);
    let shm = std::path::Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        tempfile::tempdir_in(shm).unwrap()
    } else {
        tempfile::tempdir().unwrap()
    };
    let policy = Policy::default_policy();
    let config = Config::resolve("", Overrides::default()).unwrap();
    // 19:30 UTC: night in Berlin and Tokyo, day in New York.
    let now = Timestamp::parse_rfc3339("2026-06-15T19:30:00Z").unwrap();
    match std::env::var_os("CANDOR_BENCH_STORE_CACHE") {
        Some(cache) => {
            let cache = std::path::Path::new(&cache).join(format!("subjects-{n}"));
            let complete = cache.join("complete");
            if !complete.exists() {
                let _ = std::fs::remove_dir_all(&cache);
                std::fs::create_dir_all(&cache).unwrap();
                // Dropped before the copy: closing checkpoints the write-ahead log into the
                // database file.
                generate(&SqliteStore::open(&cache).unwrap(), &policy, n, now);
                std::fs::write(&complete, b"").unwrap();
            }
            let started = Instant::now();
            for entry in std::fs::read_dir(&cache).unwrap() {
                let entry = entry.unwrap();
                if entry.file_name() != "complete" {
                    std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
                }
            }
            println!(
                "copied the generated store of {n} subjects in {:.1} s",
                started.elapsed().as_secs_f64()
            );
        }
        None => generate(&SqliteStore::open(dir.path()).unwrap(), &policy, n, now),
    }
    let store = SqliteStore::open(dir.path()).unwrap();

    store
        .insert_segment(&SegmentRecord {
            id: "bench".into(),
            name: "Bench".into(),
            purpose: "email_marketing".into(),
            rule: r#"interest("Running") >= 0.2 or views(30d) >= 3"#.into(),
            created_at: now,
        })
        .unwrap();
    let spec = StoredCampaign {
        id: "bench".into(),
        segment: "bench".into(),
        channel: "email".into(),
        purpose: "email_marketing".into(),
        template: "Hi {{first_name}}, {{recommendations}} {{unsubscribe_url}}".into(),
        send_at: None,
        cap: Some(StoredCap {
            max: 1,
            window_days: 7,
        }),
        restricted_categories: Vec::new(),
        holdout_percent: 10,
        seed: 7,
    };
    let record = CampaignRecord {
        id: "bench".into(),
        segment_id: "bench".into(),
        spec: serde_json::to_string(&spec).unwrap(),
        created_at: now,
    };
    store.insert_campaign(&record).unwrap();

    for dry_run in [true, false] {
        let mut rates = Vec::new();
        for round in 0..ROUNDS {
            let ctx = Ctx {
                store: &store,
                experiments: &candor_app::experiments::DefinitionCache::default(),
                policy: &policy,
                settings: &config.campaigns,
                server_secret: b"bench secret",
                half_life_days: 14.0,
                // Each real round an hour later, so caps from earlier rounds apply.
                now: now.plus_millis(round as i64 * 3_600_000),
            };
            let started = Instant::now();
            let result = campaigns::run_campaign(&ctx, &record, dry_run)
                .unwrap()
                .unwrap();
            let elapsed = started.elapsed().as_secs_f64();
            let selected = result.counts[0];
            rates.push(n as f64 / elapsed);
            println!(
                "{} run {round}: {n} subjects in {elapsed:.2} s ({:.0} subjects/s), {selected} selected",
                if dry_run { "dry" } else { "real" },
                n as f64 / elapsed
            );
        }
        println!(
            "{} runs: median {:.0} subjects/s",
            if dry_run { "dry" } else { "real" },
            median(rates)
        );
    }
}
