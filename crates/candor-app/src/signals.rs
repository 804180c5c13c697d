//! Consent signals from consent-management platforms and browsers: TC strings, GPP strings,
//! US Privacy strings, Consent Mode states and Global Privacy Control. Each is decoded by
//! `candor-signals`, reduced to the domain's neutral [`SignalDecisions`] and mapped onto the
//! policy's purposes by the domain, as bulk platform records for the ledger. The same decoding
//! serves the consent-signals endpoint and the signals an event carries in `context.consent`.

use std::collections::BTreeMap;

use candor_domain::consent::{self, ConsentRecord, SignalDecisions, Source, TcfChoices, UsOptOuts};
use candor_domain::policy::{ConsentModeKey, Policy};
use candor_domain::time::Timestamp;
use candor_signals::{
    ConsentMode, ConsentModeValue, GppString, NormalizedSignal, OptOutSignal, SignalError,
    TcString, UsPrivacy,
};
use serde_json::Value;

/// Signals decoded, each with its evidence, before the policy maps them.
#[derive(Debug, Clone, Default)]
pub struct ParsedSignals {
    tcf: Option<(TcString, String)>,
    gpp: Option<(GppString, String)>,
    usp: Option<(UsPrivacy, String)>,
    consent_mode: Option<(ConsentMode, String)>,
    /// The evidence of a Global Privacy Control opt-out, when there is one.
    pub gpc: Option<String>,
}

/// Signals reduced to what the domain maps.
pub struct Decoded {
    /// A Global Privacy Control opt-out, from `gpc: true`, the header or a GPP US National
    /// section, with its evidence.
    pub gpc: Option<String>,
    /// Each other signal, with the input field it came from.
    pub signals: Vec<(&'static str, SignalDecisions)>,
}

fn evidence(field: &str, value: &str) -> String {
    // The decoders refuse anything longer than `SIGNAL_LEN_MAX`, so a decoded signal's
    // evidence is bounded too.
    serde_json::json!({ field: value }).to_string()
}

/// Decodes every signal present; the first one that fails is reported with its input field.
/// Needs no policy, so an event's signals can be checked when the event is parsed.
pub fn parse_signals(
    tcf: Option<&str>,
    gpp: Option<&str>,
    usp: Option<&str>,
    consent_mode: Option<&BTreeMap<String, String>>,
    gpc: bool,
) -> Result<ParsedSignals, (&'static str, SignalError)> {
    let mut parsed = ParsedSignals {
        gpc: gpc.then(|| r#"{"gpc":true}"#.to_owned()),
        ..ParsedSignals::default()
    };
    if let Some(s) = tcf {
        let tc = TcString::parse(s).map_err(|e| ("tcf", e))?;
        parsed.tcf = Some((tc, evidence("tcf", s)));
    }
    if let Some(s) = gpp {
        let gpp = GppString::parse(s).map_err(|e| ("gpp", e))?;
        let evidence = evidence("gpp", s);
        if gpp.normalize().gpc == OptOutSignal::OptedOut {
            parsed.gpc.get_or_insert_with(|| evidence.clone());
        }
        parsed.gpp = Some((gpp, evidence));
    }
    if let Some(s) = usp {
        let usp = UsPrivacy::parse(s).map_err(|e| ("usp", e))?;
        parsed.usp = Some((usp, evidence("usp", s)));
    }
    if let Some(map) = consent_mode {
        let mode = ConsentMode::from_entries(map.iter()).map_err(|e| ("consent_mode", e))?;
        // The evidence is the four decoded states, not the raw map: that is what was
        // applied, and it stays small whatever else the page put in the map.
        let states: BTreeMap<&str, &str> = consent_mode_states(&mode)
            .into_iter()
            .map(|(k, v)| (k.as_str(), if v { "granted" } else { "denied" }))
            .collect();
        let evidence = serde_json::json!({ "consent_mode": states }).to_string();
        parsed.consent_mode = Some((mode, evidence));
    }
    Ok(parsed)
}

impl ParsedSignals {
    /// The domain's view of these signals under `policy`.
    pub fn decisions(&self, policy: &Policy) -> Decoded {
        let vendor = policy.signals.tcf_vendor_id;
        let vendor_consent = |tc: &TcString| vendor.is_some_and(|id| tc.vendor_consent(id));
        let mut signals = Vec::new();
        if let Some((tc, evidence)) = &self.tcf {
            let signal = neutral(
                &tc.normalize(),
                vendor_consent(tc),
                Source::Tcf,
                evidence.clone(),
            );
            signals.push(("tcf", signal));
        }
        if let Some((gpp, evidence)) = &self.gpp {
            let vendor_consent = gpp.tcf_eu_v2().is_some_and(vendor_consent);
            let signal = neutral(
                &gpp.normalize(),
                vendor_consent,
                Source::Gpp,
                evidence.clone(),
            );
            signals.push(("gpp", signal));
        }
        if let Some((usp, evidence)) = &self.usp {
            // US Privacy is GPP section 6, so the ledger files it under GPP.
            let signal = neutral(&usp.normalize(), false, Source::Gpp, evidence.clone());
            signals.push(("usp", signal));
        }
        if let Some((mode, evidence)) = &self.consent_mode {
            let signal = neutral(
                &mode.normalize(),
                false,
                Source::ConsentMode,
                evidence.clone(),
            );
            signals.push(("consent_mode", signal));
        }
        Decoded {
            gpc: self.gpc.clone(),
            signals,
        }
    }
}

/// Reads the signals an event carries in `context.consent` (`tcf`, `gpp`, `usp`,
/// `consent_mode`). Other keys there belong to other tools (Segment's consent object keeps
/// `categoryPreferences` there) and are left alone. `None` when there are none.
pub fn from_context(context: Option<&Value>) -> Result<Option<ParsedSignals>, String> {
    let consent = match context.and_then(|c| c.get("consent")) {
        None | Some(Value::Null) => return Ok(None),
        Some(consent @ Value::Object(_)) => consent,
        Some(_) => return Err("`context.consent` must be an object".to_owned()),
    };
    let text = |key: &str| -> Result<Option<&str>, String> {
        match consent.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(format!("`context.consent.{key}` must be a string")),
        }
    };
    let (tcf, gpp, usp) = (text("tcf")?, text("gpp")?, text("usp")?);
    let consent_mode = match consent.get("consent_mode") {
        None | Some(Value::Null) => None,
        Some(Value::Object(map)) => Some(
            map.iter()
                .map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
                .collect::<Option<BTreeMap<String, String>>>()
                .ok_or("`context.consent.consent_mode` values must be strings")?,
        ),
        Some(_) => return Err("`context.consent.consent_mode` must be an object".to_owned()),
    };
    if tcf.is_none() && gpp.is_none() && usp.is_none() && consent_mode.is_none() {
        return Ok(None);
    }
    parse_signals(tcf, gpp, usp, consent_mode.as_ref(), false)
        .map(Some)
        .map_err(|(field, e)| signal_message(&format!("context.consent.{field}"), &e))
}

fn consent_mode_states(mode: &ConsentMode) -> BTreeMap<ConsentModeKey, bool> {
    [
        (ConsentModeKey::AdStorage, mode.ad_storage()),
        (ConsentModeKey::AnalyticsStorage, mode.analytics_storage()),
        (ConsentModeKey::AdUserData, mode.ad_user_data()),
        (ConsentModeKey::AdPersonalization, mode.ad_personalization()),
    ]
    .into_iter()
    .filter_map(|(key, value)| value.map(|v| (key, v == ConsentModeValue::Granted)))
    .collect()
}

/// The domain's neutral view of a normalized signal. `vendor_consent` is whether the TC
/// string (if any) carries consent for the policy's `tcf_vendor_id`.
fn neutral(
    n: &NormalizedSignal,
    vendor_consent: bool,
    source: Source,
    evidence: String,
) -> SignalDecisions {
    let opted_out = |s: OptOutSignal| s == OptOutSignal::OptedOut;
    let mut signal = SignalDecisions::new(source, evidence);
    signal.tcf = n.tcf.as_ref().map(|tcf| TcfChoices {
        purpose_consents: tcf.purpose_consents.ids().collect(),
        vendor_consent,
    });
    signal.consent_mode = n
        .consent_mode
        .as_ref()
        .map(consent_mode_states)
        .unwrap_or_default();
    signal.us_opt_outs = UsOptOuts {
        sale: opted_out(n.sale_opt_out),
        sharing: opted_out(n.sharing_opt_out),
        targeted_advertising: opted_out(n.targeted_advertising_opt_out),
        sensitive_processing: opted_out(n.sensitive_processing_opt_out),
    };
    signal
}

/// The ledger records for decoded signals, given the subject's ledger so far. A GPC opt-out
/// comes first, then every grant, then every denial, so the most protective answer is the
/// latest.
pub fn records(
    policy: &Policy,
    existing: &[ConsentRecord],
    decoded: &Decoded,
    now: Timestamp,
) -> Vec<ConsentRecord> {
    let mut batch = match &decoded.gpc {
        Some(evidence) => {
            let mut opt_outs = consent::gpc_opt_outs(policy, existing, now);
            for r in &mut opt_outs {
                r.evidence.clone_from(evidence);
            }
            opt_outs
        }
        None => Vec::new(),
    };
    let mut rest: Vec<ConsentRecord> = decoded
        .signals
        .iter()
        .flat_map(|(_, s)| consent::records_from_signal(policy, existing, s, now))
        .collect();
    consent::order_most_protective(&mut rest);
    batch.extend(rest);
    batch
}

/// The ledger records for the signals a batch of events carried for one subject, in event
/// order; a signal an earlier event already recorded is not recorded again.
pub fn records_for_events<'a>(
    policy: &Policy,
    existing: &[ConsentRecord],
    carried: impl Iterator<Item = &'a ParsedSignals>,
    now: Timestamp,
) -> Vec<ConsentRecord> {
    let mut known = existing.to_vec();
    let mut batch = Vec::new();
    for signals in carried {
        let new = records(policy, &known, &signals.decisions(policy), now);
        known.extend(new.iter().cloned());
        batch.extend(new);
    }
    batch
}

/// One sentence naming the input field that failed and why, as the decoder put it.
pub fn signal_message(field: &str, error: &SignalError) -> String {
    format!("`{field}`: {error}")
}
