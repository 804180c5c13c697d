//! `candor audit verify` and `candor audit head`.

use std::process::ExitCode;

use candor_app::audit::{ChainHead, ChainStatus, verify_chain};
use candor_app::config::Overrides;
use clap::Subcommand;

use super::Common;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the whole audit chain. Exits 0 and prints the head when intact; exits 1 and names
    /// the first bad entry otherwise. Nothing is repaired.
    Verify {
        /// A head published earlier, as `SEQ:HASH` (from `candor audit head`): also detects
        /// entries cut off the end and a rewritten tail.
        #[arg(long, value_parser = parse_anchor)]
        anchor: Option<ChainHead>,
        #[command(flatten)]
        common: Common,
    },
    /// Print the head of the chain (`SEQ:HASH`) to publish elsewhere and verify against later.
    Head {
        #[command(flatten)]
        common: Common,
    },
}

fn parse_anchor(s: &str) -> Result<ChainHead, String> {
    let err = || format!("`{s}` is not SEQ:HASH (a sequence number and 64 hex digits)");
    let (seq, hash) = s.split_once(':').ok_or_else(err)?;
    let head_seq: u64 = seq.parse().map_err(|_| err())?;
    let mut head_hash = [0u8; 32];
    hex_decode(hash, &mut head_hash).ok_or_else(err)?;
    Ok(ChainHead {
        count: head_seq,
        head_seq,
        head_hash,
    })
}

fn hex_decode(s: &str, out: &mut [u8; 32]) -> Option<()> {
    if s.len() != 64 {
        return None;
    }
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(())
}

pub fn run(cmd: AuditCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        AuditCommand::Verify { anchor, common } => {
            let loaded = super::load(&common, Overrides::default())?;
            match verify_chain(loaded.store.as_ref(), anchor.as_ref())? {
                ChainStatus::Intact(head) => {
                    println!(
                        "audit chain intact: {} entries; head {}:{}",
                        head.count,
                        head.head_seq,
                        head.head_hash_hex()
                    );
                    Ok(ExitCode::SUCCESS)
                }
                ChainStatus::Broken(b) => {
                    println!(
                        "audit chain broken: first bad entry is seq {} (position {}): {}",
                        b.seq, b.position, b.kind
                    );
                    Ok(ExitCode::FAILURE)
                }
                ChainStatus::Unreadable(m) => {
                    println!("audit chain broken: {m}");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        AuditCommand::Head { common } => {
            let loaded = super::load(&common, Overrides::default())?;
            match loaded.store.audit_head()? {
                Some(e) => println!("{}:{}", e.seq, e.hash_hex()),
                None => println!("0:{}", "0".repeat(64)),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
