//! `candor demo`: a generated shop with people, choices and behaviour, served locally.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use candor_app::Clock;
use candor_app::api_key::{NewKey, create_key};
use candor_domain::consent::{self, AgeBand, ConsentRecord, Decision, Source, SubjectFacts};
use candor_domain::synth::{self, SynthConfig};
use candor_domain::{ExternalId, SubjectKey};
use candor_store::Scope;
use clap::Args;

use super::{Common, Loaded};

/// Marks a data directory as the demo's own, so `candor demo` never wipes anything else.
const DEMO_MARKER: &str = "candor-demo.marker";

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Address to listen on.
    #[arg(long, env = "CANDOR_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,
    /// Where the demo keeps its data; recreated on every start.
    #[arg(long, default_value = "candor-demo-data")]
    pub data_dir: PathBuf,
    /// Seed of the generated shop.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Number of generated people.
    #[arg(long, default_value_t = 500)]
    pub subjects: usize,
    #[command(flatten)]
    pub tls: super::serve::TlsArgs,
}

pub fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    reset_dir(&args.data_dir)?;
    let common = Common {
        data_dir: Some(args.data_dir.clone()),
        policy: None,
    };
    let loaded = super::load(
        &common,
        args.tls
            .clone()
            .apply(super::serve::overrides(Some(args.bind.clone()))),
    )?;
    let secret = candor_app::secret::load_or_create(&loaded.config)?;
    let (banner, publishable, admin) = seed(&loaded, secret.as_bytes(), &args)?;
    let shopper = SubjectKey::derive(
        secret.as_bytes(),
        &ExternalId::parse(candor_web::DEMO_SUBJECT_ID)
            .map_err(|e| anyhow::anyhow!("the demo shopper's id: {e}"))?,
    );
    // The shop's backend: it "logs in" the demo shopper and hands the page their session
    // token, minted fresh on every load; the page never sees a server key.
    let web = move |state: &candor_server::AppState| candor_web::WebConfig {
        demo: Some(candor_web::DemoKeys {
            publishable,
            admin,
            shopper_token: Some(std::sync::Arc::new(candor_app::signing::minter(
                state.app.clone(),
                shopper,
            ))),
        }),
    };
    super::serve::runtime()?.block_on(super::serve::serve(loaded, Some(banner), web))?;
    Ok(ExitCode::SUCCESS)
}

fn reset_dir(dir: &std::path::Path) -> anyhow::Result<()> {
    if dir.exists() {
        let empty = std::fs::read_dir(dir)?.next().is_none();
        anyhow::ensure!(
            empty || dir.join(DEMO_MARKER).exists(),
            "{} exists and is not a demo data directory; choose another --data-dir",
            dir.display()
        );
        std::fs::remove_dir_all(dir)
            .with_context(|| format!("failed to reset {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir)?;
    std::fs::write(
        dir.join(DEMO_MARKER),
        "created by `candor demo`; deleted and recreated on every start\n",
    )?;
    Ok(())
}

/// Fills the store with the generated shop and returns what to tell the person running it.
fn seed(
    loaded: &Loaded,
    secret: &[u8],
    args: &DemoArgs,
) -> anyhow::Result<(String, String, String)> {
    let now = Clock::System.now();
    let shop = synth::generate(SynthConfig {
        seed: args.seed,
        n_items: 240,
        n_subjects: args.subjects,
        events_per_subject: 30,
        days: 60,
        now,
    });
    let policy = &loaded.policy;
    let store = loaded.store.as_ref();
    let mut n_granted = 0usize;
    for s in &shop.subjects {
        let key = SubjectKey::derive(secret, &ExternalId::parse(&s.external_id)?);
        let facts = SubjectFacts {
            age_band: AgeBand::parse(s.age_band),
            country: Some(s.country.to_owned()),
        };
        let mut records = Vec::new();
        if s.gpc {
            records.extend(consent::gpc_opt_outs(policy, &[], now));
        }
        let bulk = s.grants.len() > 1;
        for p in policy.purposes.iter().filter(|p| p.needs_consent()) {
            let decision = if s.grants.contains(&p.id.as_str()) {
                Decision::Granted
            } else {
                Decision::Denied
            };
            records.push(ConsentRecord {
                purpose: p.id.clone(),
                decision,
                purpose_version: p.version.clone(),
                policy_version: policy.version.clone(),
                source: Source::Banner,
                bulk,
                evidence: r#"{"banner":"demo"}"#.to_owned(),
                at: now,
            });
        }
        store.append_consents(&key, &facts, &records, now)?;
        if consent::derive(policy, &facts, &records).allows_name("personalization") {
            n_granted += 1;
        }
    }
    let items: Vec<candor_store::CatalogItem> = shop
        .items
        .iter()
        .map(|i| candor_store::CatalogItem {
            id: i.id.clone(),
            title: i.title.clone(),
            categories: i.categories.clone(),
            attributes: serde_json::json!({"price": i.price}).to_string(),
            restricted: i.restricted.clone(),
            provider: i.provider.clone(),
        })
        .collect();
    store.upsert_items(&items, now)?;
    seed_marketing(store, policy, now)?;
    // Behaviour goes through the same gate as live traffic: what consent does not allow is
    // not stored, and the demo's counters show it.
    let ctx = candor_app::ingest::Context {
        store,
        policy,
        secret,
        half_life_days: loaded.config.profiles.half_life_days,
    };
    let (mut accepted, mut dropped) = (0usize, 0usize);
    for chunk in shop.events.chunks(1_000) {
        let parsed = chunk
            .iter()
            .map(|e| {
                let item = &shop.items[e.item];
                let properties = match e.event {
                    "Order Completed" => serde_json::json!({"product_id": item.id, "total": item.price}),
                    "Product Added" => serde_json::json!({"product_id": item.id, "price": item.price, "quantity": 1}),
                    _ => serde_json::json!({"product_id": item.id, "category": item.categories[0], "price": item.price}),
                };
                let wire = serde_json::json!({"type": "track", "event": e.event, "userId": e.external_id,
                    "messageId": e.message_id, "timestamp": e.at.to_rfc3339(), "properties": properties});
                candor_app::ingest::parse(wire, None, secret, now)
            })
            .collect();
        for o in candor_app::ingest::ingest(&ctx, parsed, false, now)? {
            match o {
                candor_app::ingest::Outcome::Accepted { .. } => accepted += 1,
                _ => dropped += 1,
            }
        }
    }
    let mk = |scopes: Vec<Scope>, origins: Vec<String>, label: &str| {
        create_key(
            store,
            NewKey {
                scopes,
                allowed_origins: origins,
                label: label.to_owned(),
                expires_at: None,
            },
            now,
        )
        .map(|(_, k)| k)
    };
    let admin = mk(vec![Scope::Admin], Vec::new(), "demo admin")?;
    // The pages' origin, which the publishable key is bound to, has the server's scheme.
    let scheme = if loaded.config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let ingest = mk(vec![Scope::Ingest], Vec::new(), "demo ingest")?;
    let decide = mk(vec![Scope::Decide], Vec::new(), "demo decide")?;
    let sessions = mk(vec![Scope::Sessions], Vec::new(), "demo shop backend")?;
    let publishable = mk(
        vec![Scope::Publishable],
        demo_origins(scheme, &args.bind),
        "demo shop pages",
    )?;
    let banner = format!(
        "demo shop: {} items, {} people ({} allow personalization), seed {}\n\
         behaviour: {accepted} events stored, {dropped} refused by the consent gate\n\
         server keys (backend only):\n\
         admin key:    {admin}\ningest key:   {ingest}\ndecide key:   {decide}\n\
         sessions key: {sessions}\n\
         publishable key (web pages): {publishable}\n\
         shop:           {scheme}://{bind}/shop/\n\
         privacy center: from the shop's \"Your privacy\" link\n\
         console:        {scheme}://{bind}/console/ (paste the admin key)\n\
         try: curl -H 'Authorization: Bearer {decide}' {scheme}://{bind}/v1/subjects/demo-user-1/consents",
        shop.items.len(),
        shop.subjects.len(),
        n_granted,
        args.seed,
        bind = args.bind,
    );
    Ok((banner, publishable, admin))
}

/// The origins the demo shop's pages come from: the address it listens on, and its loopback
/// names when it listens on a loopback or every address.
fn demo_origins(scheme: &str, bind: &str) -> Vec<String> {
    let mut origins = vec![format!("{scheme}://{bind}")];
    if let Some((host, port)) = bind.rsplit_once(':')
        && matches!(
            host,
            "127.0.0.1" | "0.0.0.0" | "localhost" | "[::]" | "[::1]"
        )
    {
        for name in ["127.0.0.1", "localhost", "[::1]"] {
            let o = format!("{scheme}://{name}:{port}");
            if !origins.contains(&o) {
                origins.push(o);
            }
        }
    }
    origins
}

/// A segment and a campaign, so the console's segment and campaign views (size preview, dry
/// run, fairness report) have something to show from the start.
fn seed_marketing(
    store: &dyn candor_store::Store,
    policy: &candor_domain::policy::Policy,
    now: candor_domain::time::Timestamp,
) -> anyhow::Result<()> {
    let rule = "views(30d) >= 3";
    let campaign = candor_app::campaigns::StoredCampaign {
        id: "weekly-picks".to_owned(),
        segment: "active-browsers".to_owned(),
        channel: "email".to_owned(),
        purpose: "email_marketing".to_owned(),
        template: "Hi {{first_name}}, picked for you: {{recommendations}}. \
                   Unsubscribe: {{unsubscribe_url}}"
            .to_owned(),
        send_at: None,
        cap: None,
        restricted_categories: Vec::new(),
        holdout_percent: 10,
        seed: 42,
    };
    // The same checks `POST /v1/campaigns` makes, segment rule included.
    campaign
        .compile(rule, policy)
        .map_err(|e| anyhow::anyhow!("the demo campaign does not pass the policy: {e}"))?;
    store.insert_segment(&candor_store::SegmentRecord {
        id: campaign.segment.clone(),
        name: "Active browsers".to_owned(),
        purpose: campaign.purpose.clone(),
        rule: rule.to_owned(),
        created_at: now,
    })?;
    store.insert_campaign(&candor_store::CampaignRecord {
        id: campaign.id.clone(),
        segment_id: campaign.segment.clone(),
        spec: serde_json::to_string(&campaign)?,
        created_at: now,
    })?;
    Ok(())
}
