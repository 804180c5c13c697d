//! The `[campaigns]` table of `candor.toml`: global frequency caps per channel, quiet hours,
//! the default time zone, and where deliveries go.

use candor_domain::policy::Channel;
use candor_segments::campaign::{Cap, ChannelSet, ContactRules, FrequencyCaps, QuietHours};
use candor_segments::rule::{WINDOW_DAYS_MAX, Window};
use jiff::civil::Time;
use jiff::tz::TimeZone;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use serde::Deserialize;

/// Longest a retry of a failed delivery waits, in milliseconds, by default: an hour.
const RETRY_MS_MAX_DEFAULT: u64 = 60 * 60 * 1000;
/// Longest `webhook_ca_file` read, in bytes: a bundle of every public root is about 250 KiB.
const WEBHOOK_CA_FILE_BYTES_MAX: u64 = 4 * 1024 * 1024;

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
struct CapSection {
    max: u32,
    window_days: u32,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CapsSection {
    email: Option<CapSection>,
    sms: Option<CapSection>,
    push: Option<CapSection>,
    web: Option<CapSection>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct QuietSection {
    start: String,
    end: String,
    channels: Vec<String>,
}

/// The table as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CampaignSection {
    #[serde(default)]
    caps: CapsSection,
    quiet_hours: Option<QuietSection>,
    default_time_zone: Option<String>,
    webhook_url: Option<String>,
    webhook_secret: Option<String>,
    webhook_ca_file: Option<std::path::PathBuf>,
    public_url: Option<String>,
    retry_ms_base: Option<u64>,
    retry_ms_max: Option<u64>,
}

/// Shortest webhook signing secret accepted, in bytes (HMAC-SHA-256 wants its output size).
pub const WEBHOOK_SECRET_BYTES_MIN: usize = 32;

/// The resolved campaign settings.
#[derive(Debug, Clone)]
pub struct CampaignSettings {
    /// Global caps per channel and quiet hours.
    pub rules: ContactRules,
    /// Time zone for people who declared none.
    pub default_time_zone: TimeZone,
    /// Where the outbox posts deliveries; none means deliveries wait in the outbox.
    pub webhook_url: Option<String>,
    /// The HMAC key deliveries are signed with.
    pub webhook_secret: Option<String>,
    /// Roots the webhook's HTTPS certificate may also lead to, besides Mozilla's (bundled) and
    /// the system's: the certificates of `webhook_ca_file`, for a receiver behind a private CA.
    /// Read and checked when the settings resolve, so a bad file stops the server at start.
    pub webhook_ca: Vec<CertificateDer<'static>>,
    /// The base URL people reach this server at, for unsubscribe links.
    pub public_url: String,
    /// First retry delay of a failed delivery; each further retry doubles it.
    pub retry_ms_base: u64,
    /// Longest retry delay.
    pub retry_ms_max: u64,
}

fn cap(section: Option<CapSection>, default: Cap, name: &str) -> Result<Cap, String> {
    let Some(c) = section else {
        return Ok(default);
    };
    if c.window_days == 0 || c.window_days > WINDOW_DAYS_MAX {
        return Err(format!(
            "campaigns.caps.{name}.window_days must be 1 to {WINDOW_DAYS_MAX}"
        ));
    }
    Ok(Cap::new(c.max, Window::days(c.window_days)))
}

/// The certificates of a PEM file of CA certificates, each checked to be usable as a root.
fn read_ca_file(path: &std::path::Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let fail = |why: String| format!("campaigns.webhook_ca_file `{}`: {why}", path.display());
    let metadata = std::fs::metadata(path).map_err(|e| fail(e.to_string()))?;
    if metadata.len() > WEBHOOK_CA_FILE_BYTES_MAX {
        return Err(fail(format!(
            "larger than {WEBHOOK_CA_FILE_BYTES_MAX} bytes"
        )));
    }
    let pem = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
    let mut certs = Vec::new();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| fail(format!("not a PEM file: {e}")))?;
        // The check the TLS client makes when it takes the root; done here so it fails now.
        rustls::RootCertStore::empty()
            .add(cert.clone())
            .map_err(|e| fail(format!("not a usable CA certificate: {e}")))?;
        certs.push(cert);
    }
    if certs.is_empty() {
        return Err(fail("holds no PEM certificate".into()));
    }
    Ok(certs)
}

fn time(text: &str, what: &str) -> Result<Time, String> {
    text.parse::<Time>()
        .map_err(|_| format!("campaigns.quiet_hours.{what} `{text}` is not a time such as 21:00"))
}

impl CampaignSection {
    pub(super) fn resolve(
        self,
        bind: &std::net::SocketAddr,
        webhook_secret_override: Option<String>,
    ) -> Result<CampaignSettings, String> {
        let defaults = FrequencyCaps::default();
        let caps = FrequencyCaps {
            email: cap(self.caps.email, defaults.email, "email")?,
            sms: cap(self.caps.sms, defaults.sms, "sms")?,
            push: cap(self.caps.push, defaults.push, "push")?,
            web: cap(self.caps.web, defaults.web, "web")?,
        };
        let quiet_hours = match self.quiet_hours {
            None => QuietHours::default(),
            Some(q) => {
                let mut channels = ChannelSet::EMPTY;
                for c in &q.channels {
                    let channel = Channel::parse(c).ok_or_else(|| {
                        format!(
                            "campaigns.quiet_hours.channels: `{c}` is not one of email, sms, push, web"
                        )
                    })?;
                    channels = channels.with(channel);
                }
                QuietHours {
                    start: time(&q.start, "start")?,
                    end: time(&q.end, "end")?,
                    channels,
                }
            }
        };
        let zone_name = self.default_time_zone.as_deref().unwrap_or("UTC");
        let default_time_zone = TimeZone::get(zone_name).map_err(|_| {
            format!("campaigns.default_time_zone `{zone_name}` is not an IANA time zone")
        })?;
        let webhook_secret = webhook_secret_override.or(self.webhook_secret);
        if self.webhook_url.is_some() && webhook_secret.as_deref().is_none_or(str::is_empty) {
            return Err(
                "campaigns.webhook_url needs campaigns.webhook_secret (or CANDOR_WEBHOOK_SECRET) to sign deliveries"
                    .into(),
            );
        }
        if let Some(secret) = &webhook_secret
            && secret.len() < WEBHOOK_SECRET_BYTES_MIN
        {
            return Err(format!(
                "campaigns.webhook_secret must be at least {WEBHOOK_SECRET_BYTES_MIN} bytes: receivers check \
                 signatures with it, and a short one can be guessed (try `openssl rand -hex 32`)"
            ));
        }
        if let Some(url) = &self.webhook_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(format!(
                "campaigns.webhook_url `{url}` must be an http(s) URL"
            ));
        }
        let webhook_ca = match &self.webhook_ca_file {
            None => Vec::new(),
            Some(path) => read_ca_file(path)?,
        };
        let retry_ms_base = self.retry_ms_base.unwrap_or(1_000).max(1);
        Ok(CampaignSettings {
            rules: ContactRules { caps, quiet_hours },
            default_time_zone,
            webhook_url: self.webhook_url,
            webhook_secret,
            webhook_ca,
            public_url: self
                .public_url
                .unwrap_or_else(|| format!("http://{bind}"))
                .trim_end_matches('/')
                .to_owned(),
            retry_ms_base,
            retry_ms_max: self
                .retry_ms_max
                .unwrap_or(RETRY_MS_MAX_DEFAULT)
                .max(retry_ms_base),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(text: &str) -> Result<CampaignSettings, String> {
        let section: CampaignSection = toml::from_str(text).map_err(|e| e.to_string())?;
        section.resolve(&"127.0.0.1:8080".parse().unwrap(), None)
    }

    #[test]
    fn defaults_are_the_pure_crates() {
        let s = resolve("").unwrap();
        assert_eq!(s.rules, ContactRules::default());
        assert_eq!(s.public_url, "http://127.0.0.1:8080");
        assert!(s.webhook_url.is_none());
    }

    #[test]
    fn settings_are_read_and_refused_with_reasons() {
        let s = resolve(
            "caps.push = { max = 3, window_days = 2 }\n\
             quiet_hours = { start = \"22:30\", end = \"07:00\", channels = [\"sms\"] }\n\
             default_time_zone = \"Europe/Berlin\"\n\
             webhook_url = \"http://127.0.0.1:9/x\"\nwebhook_secret = \"ssssssssssssssssssssssssssssssss\"\n\
             public_url = \"https://c.example/\"\n",
        )
        .unwrap();
        assert_eq!(s.rules.caps.push, Cap::new(3, Window::days(2)));
        assert!(s.rules.quiet_hours.channels.contains(Channel::Sms));
        assert!(!s.rules.quiet_hours.channels.contains(Channel::Email));
        assert_eq!(s.public_url, "https://c.example");
        for (text, needle) in [
            ("webhook_url = \"http://x/\"", "webhook_secret"),
            (
                "webhook_url = \"ftp://x/\"\nwebhook_secret = \"ssssssssssssssssssssssssssssssss\"",
                "http(s)",
            ),
            (
                "webhook_url = \"http://x/\"\nwebhook_secret = \"x\"",
                "at least 32 bytes",
            ),
            ("default_time_zone = \"Mars/Base\"", "IANA"),
            ("caps.email = { max = 1, window_days = 0 }", "window_days"),
            (
                "quiet_hours = { start = \"9pm\", end = \"08:00\", channels = [] }",
                "21:00",
            ),
            (
                "quiet_hours = { start = \"21:00\", end = \"08:00\", channels = [\"fax\"] }",
                "fax",
            ),
        ] {
            let e = resolve(text).unwrap_err();
            assert!(e.contains(needle), "{text}: {e}");
        }
    }

    #[test]
    fn a_webhook_ca_file_is_read_now_and_refused_with_reasons() {
        let dir = tempfile::tempdir().unwrap();
        let file = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path.display().to_string()
        };
        let ca = rcgen::generate_simple_self_signed(vec!["ca.example".into()]).unwrap();
        let good = file("ca.pem", &ca.cert.pem());
        let s = resolve(&format!("webhook_ca_file = \"{good}\"")).unwrap();
        assert_eq!(s.webhook_ca.len(), 1);
        assert_eq!(s.webhook_ca[0].as_ref(), ca.cert.der().as_ref());
        assert!(resolve("").unwrap().webhook_ca.is_empty());
        let missing = dir.path().join("missing.pem").display().to_string();
        for (path, needle) in [
            (missing.clone(), "missing.pem"),
            (
                file("empty.pem", "no certificate here\n"),
                "holds no PEM certificate",
            ),
            (
                file(
                    "bad.pem",
                    "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                ),
                "not a usable CA certificate",
            ),
        ] {
            let e = resolve(&format!("webhook_ca_file = \"{path}\"")).unwrap_err();
            assert!(e.contains("campaigns.webhook_ca_file"), "{e}");
            assert!(e.contains(needle), "{e}");
        }
    }
}
