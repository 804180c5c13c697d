//! `candor import catalog|events|movielens`: bulk loads through the same consent gate as the
//! HTTP API. Every imported event has a deterministic message id, so re-running an import
//! after a failure resumes it: what was stored is acknowledged as a duplicate, not stored twice.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use candor_app::Clock;
use candor_app::config::Overrides;
use candor_app::ingest::{self, Outcome};
use candor_domain::consent::{ConsentRecord, Decision, Source, SubjectFacts};
use candor_domain::time::Timestamp;
use candor_domain::{ExternalId, SubjectKey};
use candor_store::CatalogItem;
use clap::{Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};

use super::{Common, Loaded};

/// Events handed to the gate and committed together.
const IMPORT_CHUNK_LEN: usize = 1_000;

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Catalog items from JSON lines (`{"id", "title", "categories", "restricted", "provider", "attributes"}`).
    Catalog {
        file: PathBuf,
        #[command(flatten)]
        common: Common,
    },
    /// Events in the Segment shape (JSON lines), or CSV with columns
    /// `type,event,userId,anonymousId,messageId,timestamp` plus one column per property.
    Events {
        #[arg(long, value_enum, default_value_t = EventFormat::Jsonl)]
        format: EventFormat,
        file: PathBuf,
        #[command(flatten)]
        common: Common,
    },
    /// MovieLens ratings and movies: movies become catalog items with their genres as
    /// categories, ratings become `Product Rated` events.
    Movielens {
        #[arg(long)]
        ratings: PathBuf,
        #[arg(long)]
        movies: PathBuf,
        /// Purposes to grant the imported people, with source `import`.
        #[arg(long = "grant")]
        grants: Vec<String>,
        /// Move all timestamps so the newest rating is now (keeps their order and spacing);
        /// historical ratings are otherwise past the policy's retention and are not stored.
        #[arg(long)]
        shift_to_now: bool,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum EventFormat {
    Jsonl,
    Csv,
}

pub fn run(cmd: ImportCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ImportCommand::Catalog { file, common } => {
            let loaded = super::load(&common, Overrides::default())?;
            let items = read_catalog(&file, &loaded)?;
            loaded.store.upsert_items(&items, Clock::System.now())?;
            println!("imported {} catalog items", items.len());
            Ok(ExitCode::SUCCESS)
        }
        ImportCommand::Events {
            format,
            file,
            common,
        } => {
            let loaded = super::load(&common, super::serve::overrides(None))?;
            let events = match format {
                EventFormat::Jsonl => read_jsonl(&file)?,
                EventFormat::Csv => read_events_csv(&file)?,
            };
            let summary = ingest_all(&loaded, events)?;
            summary.print();
            Ok(ExitCode::SUCCESS)
        }
        ImportCommand::Movielens {
            ratings,
            movies,
            grants,
            shift_to_now,
            common,
        } => {
            let loaded = super::load(&common, super::serve::overrides(None))?;
            movielens(&loaded, &ratings, &movies, &grants, shift_to_now)
        }
    }
}

fn read_jsonl(path: &Path) -> anyhow::Result<Vec<Value>> {
    let file =
        std::fs::File::open(path).with_context(|| format!("failed to open {}", path.display()))?;
    let mut out = Vec::new();
    for (n, line) in BufReader::new(file).lines().enumerate() {
        let line =
            line.with_context(|| format!("{}:{}: not valid UTF-8", path.display(), n + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        out.push(
            serde_json::from_str(&line)
                .with_context(|| format!("{}:{}: not valid JSON", path.display(), n + 1))?,
        );
    }
    Ok(out)
}

fn read_catalog(path: &Path, loaded: &Loaded) -> anyhow::Result<Vec<CatalogItem>> {
    read_jsonl(path)?
        .into_iter()
        .enumerate()
        .map(|(n, v)| {
            let body: candor_app::catalog::NewItem = serde_json::from_value(v)
                .with_context(|| format!("{}:{}: not a catalog item", path.display(), n + 1))?;
            candor_app::catalog::check_item(&loaded.policy, body)
                .map_err(|e| anyhow::anyhow!("{}:{}: {e}", path.display(), n + 1))
        })
        .collect()
}

fn read_events_csv(path: &Path) -> anyhow::Result<Vec<Value>> {
    let mut reader = csv::Reader::from_path(path)
        .with_context(|| format!("failed to open {}", path.display()))?;
    let headers = reader.headers()?.clone();
    const ENVELOPE: [&str; 6] = [
        "type",
        "event",
        "userId",
        "anonymousId",
        "messageId",
        "timestamp",
    ];
    let mut out = Vec::new();
    for (n, row) in reader.records().enumerate() {
        let row = row.with_context(|| format!("{}: row {}", path.display(), n + 2))?;
        let mut event = serde_json::Map::new();
        let mut props = serde_json::Map::new();
        for (h, v) in headers.iter().zip(row.iter()) {
            if v.is_empty() {
                continue;
            }
            if ENVELOPE.contains(&h) {
                event.insert(h.to_owned(), Value::String(v.to_owned()));
            } else {
                // Numbers stay numbers so typed properties validate.
                let value = v
                    .parse::<i64>()
                    .map(Value::from)
                    .or_else(|_| v.parse::<f64>().map(Value::from))
                    .unwrap_or_else(|_| Value::String(v.to_owned()));
                props.insert(h.to_owned(), value);
            }
        }
        event.insert("properties".into(), Value::Object(props));
        out.push(Value::Object(event));
    }
    Ok(out)
}

#[derive(Debug, Default)]
struct Summary {
    accepted: usize,
    dropped: BTreeMap<String, usize>,
    invalid: BTreeMap<String, usize>,
}

impl Summary {
    fn print(&self) {
        println!("accepted: {}", self.accepted);
        for (reason, n) in &self.dropped {
            println!("dropped ({reason}): {n}");
        }
        for (reason, n) in &self.invalid {
            println!("invalid ({reason}): {n}");
        }
    }
}

fn progress(len: usize, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len as u64);
    bar.set_style(
        ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} ({per_sec}, {eta} left)")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(what.to_owned());
    bar
}

fn ingest_all(loaded: &Loaded, events: Vec<Value>) -> anyhow::Result<Summary> {
    let secret = candor_app::secret::load_or_create(&loaded.config)?;
    let ctx = ingest::Context {
        store: loaded.store.as_ref(),
        policy: &loaded.policy,
        secret: secret.as_bytes(),
        half_life_days: loaded.config.profiles.half_life_days,
    };
    let bar = progress(events.len(), "events");
    let mut summary = Summary::default();
    let mut rest = events;
    while !rest.is_empty() {
        let tail = rest.split_off(rest.len().min(IMPORT_CHUNK_LEN));
        let chunk = std::mem::replace(&mut rest, tail);
        let n = chunk.len();
        let now = Clock::System.now();
        let parsed = chunk
            .into_iter()
            .map(|v| ingest::parse(v, None, secret.as_bytes(), now))
            .collect();
        for o in ingest::ingest(&ctx, parsed, false, now)
            .context("failed to store events; re-run the import to resume")?
        {
            match o {
                Outcome::Accepted { .. } => summary.accepted += 1,
                Outcome::Dropped { reason, .. } => {
                    *summary.dropped.entry(reason.to_owned()).or_default() += 1
                }
                Outcome::Invalid(i) => *summary.invalid.entry(i.code.to_owned()).or_default() += 1,
            }
        }
        bar.inc(n as u64);
    }
    bar.finish_and_clear();
    Ok(summary)
}

fn movielens(
    loaded: &Loaded,
    ratings: &Path,
    movies: &Path,
    grants: &[String],
    shift_to_now: bool,
) -> anyhow::Result<ExitCode> {
    let policy = &loaded.policy;
    let purposes = grants
        .iter()
        .map(|g| {
            policy
                .purpose_by_name(g)
                .ok_or_else(|| anyhow::anyhow!("the policy declares no purpose `{g}`"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut items = Vec::new();
    let mut reader = csv::Reader::from_path(movies)
        .with_context(|| format!("failed to open {}", movies.display()))?;
    for row in reader.records() {
        let row = row.with_context(|| format!("{}: malformed row", movies.display()))?;
        let (id, title, genres) = (
            row.get(0).unwrap_or(""),
            row.get(1).unwrap_or(""),
            row.get(2).unwrap_or(""),
        );
        items.push(CatalogItem {
            id: id.to_owned(),
            title: title.to_owned(),
            categories: genres
                .split('|')
                .filter(|g| !g.is_empty() && *g != "(no genres listed)")
                .map(str::to_owned)
                .collect(),
            attributes: "{}".to_owned(),
            restricted: Vec::new(),
            provider: String::new(),
        });
    }
    let now = Clock::System.now();
    loaded.store.upsert_items(&items, now)?;
    println!("catalog: {} movies", items.len());

    let mut rows: Vec<(String, String, f64, i64)> = Vec::new();
    let mut reader = csv::Reader::from_path(ratings)
        .with_context(|| format!("failed to open {}", ratings.display()))?;
    for (n, row) in reader.records().enumerate() {
        let row = row.with_context(|| format!("{}: row {}", ratings.display(), n + 2))?;
        let field = |i: usize| row.get(i).unwrap_or("").to_owned();
        let rating: f64 = field(2)
            .parse()
            .with_context(|| format!("{}: row {}: bad rating", ratings.display(), n + 2))?;
        let ts: i64 = field(3)
            .parse()
            .with_context(|| format!("{}: row {}: bad timestamp", ratings.display(), n + 2))?;
        rows.push((field(0), field(1), rating, ts));
    }
    let shift_ms = if shift_to_now {
        rows.iter()
            .map(|r| r.3)
            .max()
            .map_or(0, |newest| now.as_millis() - 1 - newest * 1000)
    } else {
        0
    };

    if !purposes.is_empty() {
        let secret = candor_app::secret::load_or_create(&loaded.config)?;
        let mut users: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
        users.sort_unstable();
        users.dedup();
        let bar = progress(users.len(), "consents");
        for u in users {
            let key = SubjectKey::derive(secret.as_bytes(), &ExternalId::parse(u)?);
            // Granting twice on a re-run would only add a redundant record; skip if present.
            let existing = loaded.store.consent_records(&key)?;
            let records: Vec<ConsentRecord> = purposes
                .iter()
                .filter(|p| {
                    !existing
                        .iter()
                        .any(|r| r.purpose == p.id && r.source == Source::Import)
                })
                .map(|p| ConsentRecord {
                    purpose: p.id.clone(),
                    decision: Decision::Granted,
                    purpose_version: p.version.clone(),
                    policy_version: policy.version.clone(),
                    source: Source::Import,
                    bulk: false,
                    evidence: r#"{"import":"movielens"}"#.to_owned(),
                    at: now,
                })
                .collect();
            if !records.is_empty() {
                loaded
                    .store
                    .append_consents(&key, &SubjectFacts::default(), &records, now)?;
                candor_app::audit::record_consents(
                    loaded.store.as_ref(),
                    &candor_app::audit::Actor::Cli,
                    &key,
                    &records,
                    now,
                )?;
            }
            bar.inc(1);
        }
        bar.finish_and_clear();
    }
    let events: Vec<Value> = rows
        .into_iter()
        .map(|(user, movie, rating, ts)| {
            json!({"type": "track", "event": "Product Rated", "userId": user,
                   "messageId": format!("movielens-{user}-{movie}-{ts}"),
                   "timestamp": Timestamp::from_millis(ts * 1000 + shift_ms).to_rfc3339(),
                   "properties": {"product_id": movie, "rating": rating}})
        })
        .collect();
    let summary = ingest_all(loaded, events)?;
    summary.print();
    if summary.dropped.get("expired").copied().unwrap_or(0) > 0 && !shift_to_now {
        println!(
            "hint: ratings older than the policy's retention were not stored; --shift-to-now keeps their order but moves them to the present"
        );
    }
    Ok(ExitCode::SUCCESS)
}
