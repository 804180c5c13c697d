//! Access and portability: what Candor holds about a person, as JSON or a page.

use super::*;

#[derive(Debug, Serialize, ToSchema)]
pub struct ControllerBody {
    pub name: String,
    pub contact: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SubjectFactsBody {
    pub age_band: Option<String>,
    pub country: Option<String>,
    pub first_seen: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentsBody {
    /// The state derived from the ledger now, with the reason for each purpose.
    pub current: ConsentStateBody,
    /// Every recorded choice, oldest first.
    pub history: Vec<ConsentRecordBody>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExportEventBody {
    pub event_type: String,
    pub item_id: Option<String>,
    /// The properties kept (others were never stored).
    #[schema(value_type = Object)]
    pub properties: serde_json::Value,
    /// The purposes the event is kept for.
    pub purposes: Vec<String>,
    pub occurred_at: String,
    pub received_at: String,
    /// When it is deleted.
    pub expires_at: String,
    pub session_only: bool,
    /// Whether it feeds the interest profile.
    pub feeds_profile: bool,
}

/// What the person, or the shop on their behalf, told Candor.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProvidedBody {
    pub subject: Option<SubjectFactsBody>,
    /// Contact data, decrypted.
    pub contact: BTreeMap<String, String>,
    pub consents: ConsentsBody,
    /// Behaviour events, oldest first.
    pub events: Vec<ExportEventBody>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InterestBody {
    pub category: String,
    /// Share of the person's recent interest, in [0, 1].
    pub share: f64,
}

/// What Candor inferred from it.
#[derive(Debug, Serialize, ToSchema)]
pub struct InferredBody {
    /// Interest in catalog categories, strongest first.
    pub interests: Vec<InterestBody>,
    pub n_views: u64,
    pub n_adds: u64,
    pub n_purchases: u64,
    pub last_seen: Option<String>,
    /// Interests the person asked Candor to forget; never inferred again.
    pub muted_interests: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProcessingBody {
    /// Set while processing is restricted: data kept, nothing new collected or personalized.
    pub restricted_since: Option<String>,
    /// The person's choices about recommendations.
    pub preferences: crate::routes::feedback::PreferencesBody,
    /// Recommendations shown to the person, newest last.
    pub exposures: Vec<ExposureBody>,
    /// Every campaign run that decided about the person: sent, or not and why.
    pub campaigns: Vec<CampaignOutcomeBody>,
    /// The marketing segments the person is in now, and the values that put them there.
    pub segments: Vec<crate::routes::segments::MembershipBody>,
}

/// One campaign decision about the person.
#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignOutcomeBody {
    pub campaign: String,
    pub run: String,
    pub at: String,
    pub sent: bool,
    /// The exclusion code when not sent (`no_consent`, `frequency_cap`, `restricted`...).
    pub reason: Option<String>,
}

/// One item shown in one recommendation list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExposureBody {
    pub slot: String,
    pub item_id: String,
    pub rank: u32,
    pub at: String,
    pub personalized: bool,
}

/// Everything Candor holds about a person.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportBody {
    /// Always `candor-export/1`.
    pub format: &'static str,
    pub generated_at: String,
    pub controller: ControllerBody,
    pub provided: ProvidedBody,
    pub inferred: InferredBody,
    pub processing: ProcessingBody,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// `json` (default) or `html`; `Accept: text/html` also selects HTML.
    #[param(pattern = "^(json|html)$")]
    pub format: Option<String>,
    pub jurisdiction: Option<String>,
}

/// What the store holds about one subject, read in one blocking task.
pub(super) struct Held {
    subject: Option<SubjectRecord>,
    records: Vec<ConsentRecord>,
    events: Vec<StoredEvent>,
    pub(super) contact: BTreeMap<String, String>,
    profile: Option<Profile>,
    muted: Vec<String>,
    restricted: Option<Timestamp>,
    exposures: Vec<candor_store::Exposure>,
    preferences: candor_store::Preferences,
    campaigns: Vec<candor_store::SubjectOutcome>,
}

pub(super) fn gather(
    store: &dyn candor_store::Store,
    subject: &SubjectKey,
    now: Timestamp,
) -> candor_store::StoreResult<Option<Held>> {
    if store.subject_footprint(subject)?.is_empty() {
        return Ok(None);
    }
    let sealed = store.contact(subject)?;
    let mut contact = BTreeMap::new();
    if !sealed.is_empty() {
        // The key exists whenever contact data does; `fresh` is never used then.
        let key = DataKey::from_bytes(store.data_key(subject, random_key(), now)?);
        for (field, bytes) in sealed {
            match crypto::open(&key, &contact_context(subject, &field), &bytes) {
                Ok(plain) => {
                    contact.insert(field, String::from_utf8_lossy(&plain).into_owned());
                }
                Err(e) => tracing::warn!(error = %e, "contact field does not open"),
            }
        }
    }
    Ok(Some(Held {
        subject: store.subject(subject)?,
        records: store.consent_records(subject)?,
        events: store.all_events(subject)?,
        contact,
        profile: store.profile(subject)?,
        muted: store.muted_interests(subject)?,
        restricted: store.restriction(subject)?,
        exposures: store.exposures_for_subject(subject)?,
        campaigns: store.subject_outcomes(subject, 10_000)?,
        preferences: store.preferences(subject)?,
    }))
}

pub(super) fn random_key() -> [u8; 32] {
    let mut k = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut k);
    k
}

fn interests(profile: Option<&Profile>, now: Timestamp, half_life_days: f64) -> Vec<InterestBody> {
    let mut v: Vec<InterestBody> = profile
        .map(|p| p.interest_shares(now, half_life_days))
        .unwrap_or_default()
        .into_iter()
        .map(|(category, share)| InterestBody { category, share })
        .collect();
    v.sort_by(|a, b| b.share.total_cmp(&a.share));
    v
}

fn export_body(state: &AppState, held: Held) -> ExportBody {
    let now = state.now();
    let facts = held
        .subject
        .as_ref()
        .map(|s| s.facts.clone())
        .unwrap_or_default();
    let derived = consent::derive(&state.policy, &facts, &held.records);
    let profile = held.profile.as_ref();
    ExportBody {
        format: "candor-export/1",
        generated_at: now.to_rfc3339(),
        controller: ControllerBody {
            name: state.policy.controller.clone(),
            contact: state.policy.contact.clone(),
        },
        provided: ProvidedBody {
            subject: held.subject.map(|s| SubjectFactsBody {
                age_band: s.facts.age_band.map(|b| b.to_string()),
                country: s.facts.country,
                first_seen: s.created_at.to_rfc3339(),
            }),
            contact: held.contact,
            consents: ConsentsBody {
                current: state_body(&state.policy, &derived),
                history: held.records.into_iter().map(record_body).collect(),
            },
            events: held
                .events
                .into_iter()
                .map(|e| ExportEventBody {
                    event_type: e.event_type,
                    item_id: e.item_id,
                    properties: serde_json::from_str(&e.properties)
                        .unwrap_or(serde_json::Value::String(e.properties)),
                    purposes: e.purposes.iter().map(ToString::to_string).collect(),
                    occurred_at: e.occurred_at.to_rfc3339(),
                    received_at: e.received_at.to_rfc3339(),
                    expires_at: e.expires_at.to_rfc3339(),
                    session_only: e.session_only,
                    feeds_profile: e.interaction.is_some(),
                })
                .collect(),
        },
        inferred: InferredBody {
            interests: interests(profile, now, state.config.profiles.half_life_days),
            n_views: profile.map_or(0, |p| p.n_views),
            n_adds: profile.map_or(0, |p| p.n_adds),
            n_purchases: profile.map_or(0, |p| p.n_purchases),
            last_seen: profile
                .and_then(|p| p.last_seen)
                .map(|t| Timestamp::from_millis(t).to_rfc3339()),
            muted_interests: held.muted,
        },
        processing: ProcessingBody {
            restricted_since: held.restricted.map(Timestamp::to_rfc3339),
            preferences: held.preferences.into(),
            exposures: held
                .exposures
                .into_iter()
                .map(|e| ExposureBody {
                    slot: e.slot,
                    item_id: e.item_id,
                    rank: e.rank,
                    at: e.at.to_rfc3339(),
                    personalized: e.personalized,
                })
                .collect(),
            campaigns: held
                .campaigns
                .into_iter()
                .map(|o| CampaignOutcomeBody {
                    campaign: o.campaign_id,
                    run: o.run_id,
                    at: o.at.to_rfc3339(),
                    sent: o.selected,
                    reason: o.reason,
                })
                .collect(),
            segments: Vec::new(),
        },
    }
}

fn wants_html(q: &ExportQuery, headers: &HeaderMap) -> ApiResult<bool> {
    match q.format.as_deref() {
        Some("html") => Ok(true),
        Some("json") => Ok(false),
        Some(other) => Err(ApiError::bad_request(
            "invalid_format",
            format!("format `{other}` is not one of json, html"),
        )),
        None => Ok(headers
            .get(header::ACCEPT)
            .and_then(|a| a.to_str().ok())
            .is_some_and(|a| a.contains("text/html"))),
    }
}

/// Everything held about a person, as JSON separating what they told us from what Candor
/// inferred, or as a readable HTML page (subject token or admin key).
#[utoipa::path(get, path = "/v1/subjects/{id}/export", tag = "subject rights", security(("api_key" = [])),
    params(("id" = String, Path, description = "The shop's id for the person"), ExportQuery),
    responses((status = 200, description = "JSON, or a page for people when `format=html` or `Accept: text/html`",
            content((ExportBody = "application/json"), (String = "text/html"))),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn export(
    State(state): State<AppState>,
    access: Access<act::Privacy>,
    ApiQuery(q): ApiQuery<ExportQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let subject = access.key();
    let html = wants_html(&q, &headers)?;
    let request = new_request(
        &state,
        "access",
        &subject,
        q.jurisdiction.as_deref(),
        true,
        serde_json::json!({"by": access.actor(), "format": if html { "html" } else { "json" }}),
    )?;
    let now = state.now();
    let audit = candor_app::audit::AuditEvent::new(
        access.audit_actor(),
        candor_app::audit::AuditAction::DataExported,
        candor_app::audit::AuditTarget::Subject(subject),
    )
    .detail("format", if html { "html" } else { "json" });
    let held = state
        .blocking(move |store| {
            let held = gather(store, &subject, now)?;
            if held.is_some() {
                store.insert_dsr(&request)?;
                // Recorded before the data leaves: who read a person's data, and how.
                candor_app::audit::record(store, audit, now)?;
            }
            Ok(held)
        })
        .await?
        .ok_or_else(subject_not_found)?;
    let mut body = export_body(&state, held);
    body.processing.segments = crate::routes::segments::memberships(&state, subject).await?;
    let mut response = if html {
        axum::response::Html(render_html(&body)).into_response()
    } else {
        Json(body).into_response()
    };
    let h = response.headers_mut();
    // Personal data: never cached; the page runs no script and loads nothing.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
    );
    Ok(response)
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn table(out: &mut String, head: &[&str], rows: Vec<Vec<String>>) {
    if rows.is_empty() {
        out.push_str("<p>None.</p>\n");
        return;
    }
    out.push_str("<table><tr>");
    for h in head {
        out.push_str(&format!("<th>{}</th>", escape(h)));
    }
    out.push_str("</tr>\n");
    for r in rows {
        out.push_str("<tr>");
        for cell in r {
            out.push_str(&format!("<td>{}</td>", escape(&cell)));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
}

/// The export as a self-contained page; every value is escaped.
pub fn render_html(b: &ExportBody) -> String {
    let mut o = String::from(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Your data</title>\n\
         <style>body{font-family:sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}\
         table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:.3rem;text-align:left;vertical-align:top}</style>\n\
         </head><body>\n<h1>The data we hold about you</h1>\n",
    );
    o.push_str(&format!(
        "<p>Prepared {} by {} (contact: {}).</p>\n",
        escape(&b.generated_at),
        escape(&b.controller.name),
        escape(&b.controller.contact)
    ));
    if let Some(since) = &b.processing.restricted_since {
        o.push_str(&format!(
            "<p><strong>Processing is restricted since {}</strong>: we keep your data but collect nothing new and personalize nothing.</p>\n",
            escape(since)
        ));
    }
    o.push_str("<h2>What you told us</h2>\n<h3>About you</h3>\n");
    let mut about = Vec::new();
    if let Some(s) = &b.provided.subject {
        about.push(vec!["First seen".into(), s.first_seen.clone()]);
        if let Some(a) = &s.age_band {
            about.push(vec!["Age band".into(), a.clone()]);
        }
        if let Some(c) = &s.country {
            about.push(vec!["Country".into(), c.clone()]);
        }
    }
    for (k, v) in &b.provided.contact {
        about.push(vec![k.clone(), v.clone()]);
    }
    table(&mut o, &["", ""], about);
    o.push_str("<h3>Your choices, as they stand</h3>\n");
    table(
        &mut o,
        &["Purpose", "What it means", "Allowed", "Why"],
        b.provided
            .consents
            .current
            .purposes
            .iter()
            .map(|p| {
                vec![
                    p.title.clone(),
                    p.text.clone(),
                    if p.allowed { "yes" } else { "no" }.into(),
                    p.reason.clone(),
                ]
            })
            .collect(),
    );
    o.push_str("<h3>Every choice you made</h3>\n");
    table(
        &mut o,
        &["When", "Purpose", "Decision", "How"],
        b.provided
            .consents
            .history
            .iter()
            .map(|r| {
                vec![
                    r.at.clone(),
                    r.purpose.clone(),
                    r.decision.into(),
                    r.source.into(),
                ]
            })
            .collect(),
    );
    o.push_str("<h3>What you did on the site</h3>\n");
    table(
        &mut o,
        &["When", "Event", "Item", "Details", "Kept for", "Deleted on"],
        b.provided
            .events
            .iter()
            .map(|e| {
                vec![
                    e.occurred_at.clone(),
                    e.event_type.clone(),
                    e.item_id.clone().unwrap_or_default(),
                    e.properties.to_string(),
                    e.purposes.join(", "),
                    e.expires_at.clone(),
                ]
            })
            .collect(),
    );
    o.push_str("<h2>What we inferred</h2>\n<h3>Your interests</h3>\n");
    table(
        &mut o,
        &["Category", "Share of your recent interest"],
        b.inferred
            .interests
            .iter()
            .map(|i| vec![i.category.clone(), format!("{:.0}%", i.share * 100.0)])
            .collect(),
    );
    o.push_str(&format!(
        "<p>From {} views, {} additions to the basket and {} purchases.</p>\n",
        b.inferred.n_views, b.inferred.n_adds, b.inferred.n_purchases
    ));
    if !b.inferred.muted_interests.is_empty() {
        o.push_str(&format!(
            "<p>Interests you asked us to forget, never inferred again: {}.</p>\n",
            escape(&b.inferred.muted_interests.join(", "))
        ));
    }
    o.push_str("</body></html>\n");
    o
}
