//! Process settings: the `[server]`, `[storage]`, `[limits]` and `[profiles]` tables of
//! `candor.toml`, overridden by flags and `CANDOR_*` variables. Everything has a default, so
//! `candor serve` works with no configuration at all.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

mod analytics;
mod campaigns;
pub use analytics::AnalyticsSettings;
pub use campaigns::CampaignSettings;

/// Named limits on everything a request can make grow.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    pub request_body_bytes_max: usize,
    pub event_batch_len_max: usize,
    pub page_len_max: u32,
    pub recommendations_n_max: u32,
    /// Longest list of consent decisions in one request.
    pub consent_decisions_len_max: usize,
    /// Largest evidence document attached to a consent, in bytes.
    pub consent_evidence_bytes_max: usize,

    // --- Connections: every client is bounded in time and number. ---
    /// Longest a client may take to send a request's headers; then the connection is closed.
    pub header_read_timeout_ms: u64,
    /// Longest a request may take, body included, before it is answered 408.
    pub request_timeout_ms: u64,
    /// Longest an idle keep-alive connection is kept open.
    pub keep_alive_idle_timeout_ms: u64,
    /// Most connections served at once; past it new ones wait to be accepted (or get 503).
    pub connections_max: usize,

    // --- Growth from one person or one key. ---
    /// Largest single event (its JSON), in bytes; larger events are refused one by one.
    pub event_bytes_max: usize,
    /// Largest single property or trait value, in bytes.
    pub property_value_bytes_max: usize,
    /// Most consent records one person may add per day (UTC).
    pub consent_records_per_subject_per_day_max: u32,
    /// Most muted categories and hidden items one person may keep.
    pub muted_categories_max: usize,
    pub hidden_items_max: usize,
    /// Token-bucket rate limit per API key or token: sustained requests per second and burst.
    pub key_requests_per_second: u32,
    pub key_requests_burst: u32,
    /// Token-bucket rate limit per person (subject routes and their events).
    pub subject_requests_per_second: u32,
    pub subject_requests_burst: u32,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            request_body_bytes_max: 1024 * 1024,
            event_batch_len_max: 1_000,
            page_len_max: 500,
            recommendations_n_max: 100,
            consent_decisions_len_max: 64,
            consent_evidence_bytes_max: 16 * 1024,
            header_read_timeout_ms: 10_000,
            request_timeout_ms: 30_000,
            keep_alive_idle_timeout_ms: 60_000,
            connections_max: 4_096,
            event_bytes_max: 32 * 1024,
            property_value_bytes_max: 4 * 1024,
            consent_records_per_subject_per_day_max: 200,
            muted_categories_max: 200,
            hidden_items_max: 1_000,
            // A server key carries a whole shop's traffic; its bucket only stops floods.
            key_requests_per_second: 20_000,
            key_requests_burst: 40_000,
            subject_requests_per_second: 20,
            subject_requests_burst: 100,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProfileSettings {
    pub half_life_days: f64,
}

impl Default for ProfileSettings {
    fn default() -> ProfileSettings {
        ProfileSettings {
            half_life_days: 14.0,
        }
    }
}

/// Longest visitor-token lifetime a configuration may set: 30 days.
pub const VISITOR_TOKEN_TTL_SECONDS_MAX: u64 = 30 * 86_400;

/// `[subject_rights]`: how data-subject requests are authenticated, answered and tracked.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SubjectRights {
    /// Lifetime of a subject token when the issuer asks for none.
    pub token_ttl_seconds: u64,
    /// Longest lifetime an issuer may ask for.
    pub token_ttl_seconds_max: u64,
    /// Lifetime of a visitor token; a page renews it before it runs out.
    pub visitor_token_ttl_seconds: u64,
    /// Keep a consent-proof tombstone (choices and times under a one-way hash, no evidence)
    /// when a subject is erased, to demonstrate consent was obtained (GDPR Art. 7(1)).
    pub keep_consent_proof: bool,
    /// The jurisdiction a request falls under when it names none.
    pub default_jurisdiction: String,
    /// Days to answer a request, per jurisdiction.
    pub deadline_days: std::collections::BTreeMap<String, u32>,
}

impl Default for SubjectRights {
    fn default() -> SubjectRights {
        SubjectRights {
            // A session token is short-lived: a shop's backend mints a new one per page.
            token_ttl_seconds: 900,
            token_ttl_seconds_max: 86_400,
            visitor_token_ttl_seconds: 7 * 86_400,
            keep_consent_proof: true,
            default_jurisdiction: "gdpr".to_owned(),
            deadline_days: [("gdpr".to_owned(), 30), ("ccpa".to_owned(), 45)]
                .into_iter()
                .collect(),
        }
    }
}

impl SubjectRights {
    fn check(&self) -> Result<(), String> {
        if self.token_ttl_seconds == 0 || self.token_ttl_seconds > self.token_ttl_seconds_max {
            return Err(
                "subject_rights.token_ttl_seconds must be positive and at most token_ttl_seconds_max"
                    .into(),
            );
        }
        if self.visitor_token_ttl_seconds == 0
            || self.visitor_token_ttl_seconds > VISITOR_TOKEN_TTL_SECONDS_MAX
        {
            return Err(format!(
                "subject_rights.visitor_token_ttl_seconds must be between 1 and {VISITOR_TOKEN_TTL_SECONDS_MAX}"
            ));
        }
        if !self.deadline_days.contains_key(&self.default_jurisdiction) {
            return Err(format!(
                "subject_rights.default_jurisdiction `{}` has no entry in subject_rights.deadline_days",
                self.default_jurisdiction
            ));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerSection {
    bind: Option<String>,
    /// PEM certificate chain and private key: with both, `serve` speaks HTTPS itself.
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    #[serde(default)]
    cors_allowed_origins: Vec<String>,
    secret_file: Option<PathBuf>,
    retention_interval_seconds: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StorageSection {
    data_dir: Option<PathBuf>,
    url: Option<String>,
}

/// Only the process tables; the policy tables are read by the domain crate.
#[derive(Debug, Default, Deserialize)]
struct FileSettings {
    #[serde(default)]
    server: ServerSection,
    #[serde(default)]
    storage: StorageSection,
    #[serde(default)]
    limits: Limits,
    #[serde(default)]
    profiles: ProfileSettings,
    #[serde(default)]
    subject_rights: SubjectRights,
    #[serde(default)]
    campaigns: campaigns::CampaignSection,
    #[serde(default)]
    analytics: analytics::AnalyticsSection,
}

/// Values from flags or the environment, which win over the file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub bind: Option<String>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
    pub storage_url: Option<String>,
    pub secret: Option<String>,
}

/// The resolved process settings.
#[derive(Debug, Clone)]
pub struct Config {
    pub bind: SocketAddr,
    /// HTTPS: the PEM certificate chain and key `serve` answers with (both or neither).
    pub tls: Option<TlsFiles>,
    pub data_dir: PathBuf,
    pub storage_url: Option<String>,
    pub cors_allowed_origins: Vec<String>,
    /// The server secret given directly (environment); otherwise read from `secret_file` or
    /// generated into the data directory.
    pub secret: Option<String>,
    pub secret_file: Option<PathBuf>,
    pub limits: Limits,
    pub profiles: ProfileSettings,
    /// How often `serve` runs the retention job. Session-only data outlives its visit by at
    /// most this long in storage (readers already treat expired data as gone).
    pub retention_interval_seconds: u64,
    pub subject_rights: SubjectRights,
    /// Caps, quiet hours and the delivery webhook (`[campaigns]`).
    pub campaigns: CampaignSettings,
    /// Privacy budgets and report costs of private analytics (`[analytics]`).
    pub analytics: AnalyticsSettings,
}

/// The certificate chain and private key of `serve`'s own HTTPS.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
pub const DEFAULT_DATA_DIR: &str = "candor-data";

impl Config {
    /// Resolves settings from the policy file's text (whose process tables are read here;
    /// unknown keys inside them are errors) and overrides.
    pub fn resolve(file_text: &str, overrides: Overrides) -> Result<Config, String> {
        let file: FileSettings = toml::from_str::<toml::Table>(file_text)
            .map_err(|e| e.message().to_owned())
            .and_then(|mut table| {
                // Keep only the process tables; the rest is policy.
                table.retain(|k, _| {
                    matches!(
                        k,
                        "server"
                            | "storage"
                            | "limits"
                            | "profiles"
                            | "subject_rights"
                            | "campaigns"
                            | "analytics"
                    )
                });
                FileSettings::deserialize(toml::Value::Table(table))
                    .map_err(|e| e.message().to_owned())
            })?;
        let bind_text = overrides
            .bind
            .or(file.server.bind)
            .unwrap_or_else(|| DEFAULT_BIND.to_owned());
        let bind = bind_text
            .parse()
            .map_err(|_| format!("`{bind_text}` is not a socket address such as 127.0.0.1:8080"))?;
        if !(file.profiles.half_life_days > 0.0 && file.profiles.half_life_days.is_finite()) {
            return Err("profiles.half_life_days must be a positive number of days".into());
        }
        file.subject_rights.check()?;
        if file.limits.event_batch_len_max == 0 || file.limits.page_len_max == 0 {
            return Err("limits must be positive".into());
        }
        let l = &file.limits;
        if l.header_read_timeout_ms == 0
            || l.request_timeout_ms == 0
            || l.keep_alive_idle_timeout_ms == 0
            || l.connections_max == 0
        {
            return Err("connection limits and timeouts must be positive".into());
        }
        // The listener waits for every connection's slot at shutdown, in one u32 acquisition.
        if u32::try_from(l.connections_max).is_err() {
            return Err(format!(
                "limits.connections_max must be at most {}",
                u32::MAX
            ));
        }
        let tls = match (
            overrides.tls_cert.or(file.server.tls_cert),
            overrides.tls_key.or(file.server.tls_key),
        ) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
            (None, None) => None,
            _ => return Err("TLS needs both a certificate (tls_cert) and a key (tls_key)".into()),
        };
        let campaigns = file
            .campaigns
            .resolve(&bind, std::env::var("CANDOR_WEBHOOK_SECRET").ok())?;
        let analytics = file.analytics.resolve()?;
        Ok(Config {
            campaigns,
            analytics,
            bind,
            tls,
            data_dir: overrides
                .data_dir
                .or(file.storage.data_dir)
                .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
            storage_url: overrides.storage_url.or(file.storage.url),
            cors_allowed_origins: file.server.cors_allowed_origins,
            secret: overrides.secret,
            secret_file: file.server.secret_file,
            retention_interval_seconds: file
                .server
                .retention_interval_seconds
                .unwrap_or(3600)
                .max(1),
            limits: file.limits,
            profiles: file.profiles,
            subject_rights: file.subject_rights,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let c = Config::resolve("", Overrides::default()).unwrap();
        assert_eq!(c.bind.to_string(), DEFAULT_BIND);
        assert_eq!(c.limits.event_batch_len_max, 1_000);
        let c = Config::resolve(
            "[server]\nbind = \"0.0.0.0:9000\"\n[limits]\npage_len_max = 50\n",
            Overrides {
                bind: Some("127.0.0.1:1".into()),
                ..Overrides::default()
            },
        )
        .unwrap();
        assert_eq!(c.bind.to_string(), "127.0.0.1:1");
        assert_eq!(c.limits.page_len_max, 50);
        let shipped = candor_domain::policy::DEFAULT_POLICY_TOML;
        assert!(Config::resolve(shipped, Overrides::default()).is_ok());
        assert!(
            Config::resolve("[limits]\npage_size = 3\n", Overrides::default())
                .unwrap_err()
                .contains("page_size")
        );
        assert!(Config::resolve("[server]\nbind = \"nowhere\"\n", Overrides::default()).is_err());
    }

    #[test]
    fn connection_limits_are_checked() {
        let c = Config::resolve("", Overrides::default()).unwrap();
        assert_eq!(c.limits.header_read_timeout_ms, 10_000);
        assert_eq!(c.limits.connections_max, 4_096);
        for bad in [
            "[limits]\nheader_read_timeout_ms = 0\n",
            "[limits]\nrequest_timeout_ms = 0\n",
            "[limits]\nkeep_alive_idle_timeout_ms = 0\n",
            "[limits]\nconnections_max = 0\n",
            "[limits]\nconnections_max = 5_000_000_000\n",
        ] {
            assert!(Config::resolve(bad, Overrides::default()).is_err(), "{bad}");
        }
    }

    #[test]
    fn subject_rights_settings_are_checked() {
        let c = Config::resolve("", Overrides::default()).unwrap();
        assert_eq!(c.subject_rights.token_ttl_seconds, 900);
        assert_eq!(c.subject_rights.deadline_days["ccpa"], 45);
        assert!(c.subject_rights.keep_consent_proof);
        let c = Config::resolve(
            "[subject_rights]\nkeep_consent_proof = false\ndeadline_days = { gdpr = 30, lgpd = 15 }\n",
            Overrides::default(),
        )
        .unwrap();
        assert!(!c.subject_rights.keep_consent_proof);
        assert_eq!(c.subject_rights.deadline_days["lgpd"], 15);
        for bad in [
            "[subject_rights]\ntoken_ttl_seconds = 0\n",
            "[subject_rights]\ntoken_ttl_seconds = 100\ntoken_ttl_seconds_max = 10\n",
            "[subject_rights]\ndefault_jurisdiction = \"pipl\"\n",
            "[subject_rights]\nttl = 3\n",
        ] {
            assert!(Config::resolve(bad, Overrides::default()).is_err(), "{bad}");
        }
        // The policy parser accepts the table the shipped file carries.
        let shipped = candor_domain::policy::DEFAULT_POLICY_TOML;
        assert!(shipped.contains("[subject_rights]"));
        assert!(candor_domain::policy::Policy::parse(shipped).is_ok());
    }
}
