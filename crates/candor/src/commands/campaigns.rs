//! `candor campaigns list` and `candor campaigns run`: the same audience run as
//! `POST /v1/campaigns/{id}/run`, from the command line (for schedulers such as cron).

use std::process::ExitCode;

use anyhow::Context;
use candor_app::Clock;
use candor_app::audit::Actor;
use candor_app::campaigns::{self, Ctx, RunRefusal, summarize};
use candor_app::config::Overrides;
use clap::Subcommand;

use super::Common;

#[derive(Debug, Subcommand)]
pub enum CampaignsCommand {
    /// List the campaigns.
    List {
        #[command(flatten)]
        common: Common,
    },
    /// Decide every subject for a campaign and print the k-suppressed counts. Without
    /// `--dry-run`, outcomes are recorded and deliveries queued in the outbox.
    Run {
        /// The campaign id.
        id: String,
        /// Only count; record and send nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        common: Common,
    },
}

pub fn run(cmd: CampaignsCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        CampaignsCommand::List { common } => {
            let loaded = super::load(&common, Overrides::default())?;
            for c in loaded.store.campaigns()? {
                println!("{}\tsegment {}", c.id, c.segment_id);
            }
            Ok(ExitCode::SUCCESS)
        }
        CampaignsCommand::Run {
            id,
            dry_run,
            common,
        } => {
            let loaded = super::load(&common, Overrides::default())?;
            let secret = candor_app::secret::load_or_create(&loaded.config)
                .context("failed to load the server secret")?;
            let record = loaded.store.campaign(&id)?.ok_or_else(|| {
                anyhow::anyhow!("no campaign `{id}`; see `candor campaigns list`")
            })?;
            let ctx = Ctx {
                store: loaded.store.as_ref(),
                experiments: &candor_app::experiments::DefinitionCache::default(),
                policy: &loaded.policy,
                settings: &loaded.config.campaigns,
                server_secret: secret.as_bytes(),
                half_life_days: loaded.config.profiles.half_life_days,
                now: Clock::System.now(),
            };
            let result = campaigns::run_campaign(&ctx, &record, dry_run)?.map_err(|r| match r {
                RunRefusal::SegmentMissing(s) => {
                    anyhow::anyhow!("the campaign's segment `{s}` no longer exists")
                }
                RunRefusal::NoLongerValid(e) => {
                    anyhow::anyhow!("the campaign no longer passes the policy: {e}")
                }
                RunRefusal::NotDue(at) => anyhow::anyhow!(
                    "the campaign is scheduled for {}; run it then, or with --dry-run",
                    at.to_rfc3339()
                ),
            })?;
            match &result.run_id {
                Some(run) => println!("run {run}"),
                None => println!("dry run: nothing recorded or sent"),
            }
            campaigns::audit_run(ctx.store, Actor::Cli, &record.id, &result, ctx.now)?;
            let summary = summarize(&result.counts, loaded.policy.k_anonymity);
            println!("total: {}", summary.total);
            println!("selected: {}", summary.selected);
            for (code, n) in summary.excluded {
                println!("{}: {n}", code.as_str());
            }
            if result.flagged {
                println!(
                    "flagged: a demographic parity ratio is below 0.8 (candor fairness report --campaign {})",
                    record.id
                );
            }
            if result.held {
                println!(
                    "held: deliveries wait for an acknowledgement (POST /v1/fairness/campaigns/{}/acknowledge)",
                    record.id
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
