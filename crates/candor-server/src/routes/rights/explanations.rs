//! "Why am I seeing this": the data and purposes behind a person's recommendations.

use super::*;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExplanationQuery {
    /// The catalog item shown to the person.
    pub item: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExplainedItem {
    pub id: String,
    pub title: String,
    pub categories: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PurposeUsedBody {
    pub purpose: String,
    pub title: String,
    pub legal_basis: &'static str,
    pub allowed: bool,
    /// Why the purpose is or is not allowed now.
    pub reason: String,
    /// The ledger record the permission rests on, when it rests on consent.
    pub consent_record: Option<ConsentRecordBody>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DataUsedBody {
    /// Events that fed the interests used, by event type.
    pub events_by_type: BTreeMap<String, u64>,
    pub first_at: Option<String>,
    pub last_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExplanationBody {
    pub item: ExplainedItem,
    /// Whether anything about the person may shape what they see of this item.
    pub personalized: bool,
    /// The reasons, as sentences.
    pub reasons: Vec<String>,
    /// The person's interests in the item's categories, as used.
    pub interests_used: Vec<InterestBody>,
    pub data_used: DataUsedBody,
    /// The personalization purposes and the consent each relied on.
    pub purposes: Vec<PurposeUsedBody>,
}

/// Why a person sees an item: the interests it matches, the data they came from, the purpose
/// and the consent record it relied on (subject token or admin key).
#[utoipa::path(get, path = "/v1/subjects/{id}/explanations", tag = "subject rights", security(("api_key" = [])),
    params(("id" = String, Path, description = "The shop's id for the person"), ExplanationQuery),
    responses((status = 200, body = ExplanationBody), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn explanations(
    State(state): State<AppState>,
    access: Access<act::Privacy>,
    ApiQuery(q): ApiQuery<ExplanationQuery>,
) -> ApiResult<Json<ExplanationBody>> {
    let subject = access.key();
    let item_id = q.item.clone();
    let gathered = state
        .blocking(move |store| {
            let Some(item) = store.item(&item_id)? else {
                return Ok(None);
            };
            let events = store.all_events(&subject)?;
            // The categories of every item the person interacted with (bounded).
            let mut cats: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for e in events.iter().filter(|e| e.interaction.is_some()) {
                if let Some(i) = &e.item_id
                    && !cats.contains_key(i)
                    && cats.len() < EXPLAIN_ITEMS_MAX
                {
                    let c = store.item(i)?.map(|it| it.categories).unwrap_or_default();
                    cats.insert(i.clone(), c);
                }
            }
            let facts = store
                .subject(&subject)?
                .map(|s| s.facts)
                .unwrap_or_default();
            Ok(Some((
                item,
                events,
                cats,
                facts,
                store.consent_records(&subject)?,
                store.profile(&subject)?,
                store.restriction(&subject)?,
            )))
        })
        .await?;
    let Some((item, events, cats, facts, records, profile, restricted)) = gathered else {
        return Err(ApiError::not_found(
            "item_not_found",
            format!("the catalog has no item `{}`", q.item),
        ));
    };
    let now = state.now();
    let derived = consent::derive(&state.policy, &facts, &records);
    let purposes: Vec<PurposeUsedBody> = derived
        .purposes
        .iter()
        .filter_map(|s| {
            let p = state.policy.purpose(&s.purpose)?;
            p.personalization.then(|| PurposeUsedBody {
                purpose: p.id.to_string(),
                title: p.title.clone(),
                legal_basis: p.legal_basis.as_str(),
                allowed: s.allowed,
                reason: s.reason.to_string(),
                consent_record: match &s.reason {
                    Reason::Granted { at, .. } => records
                        .iter()
                        .rev()
                        .find(|r| {
                            r.purpose == p.id && r.at == *at && r.decision == Decision::Granted
                        })
                        .cloned()
                        .map(record_body),
                    _ => None,
                },
            })
        })
        .collect();
    let allowed = purposes.iter().any(|p| p.allowed);
    let shares = profile
        .as_ref()
        .map(|p| p.interest_shares(now, state.config.profiles.half_life_days))
        .unwrap_or_default();
    let interests_used: Vec<InterestBody> = item
        .categories
        .iter()
        .filter_map(|c| {
            shares.get(c).map(|s| InterestBody {
                category: c.clone(),
                share: *s,
            })
        })
        .collect();
    let mut events_by_type: BTreeMap<String, u64> = BTreeMap::new();
    let (mut first, mut last): (Option<Timestamp>, Option<Timestamp>) = (None, None);
    for e in events.iter().filter(|e| e.interaction.is_some()) {
        let matches = e.item_id.as_ref().is_some_and(|i| {
            cats.get(i)
                .is_some_and(|c| c.iter().any(|c| item.categories.contains(c)))
        });
        if matches {
            *events_by_type.entry(e.event_type.clone()).or_insert(0) += 1;
            first = Some(first.map_or(e.occurred_at, |f| f.min(e.occurred_at)));
            last = Some(last.map_or(e.occurred_at, |l| l.max(e.occurred_at)));
        }
    }
    let personalized = allowed && restricted.is_none() && !interests_used.is_empty();
    let mut reasons = Vec::new();
    if restricted.is_some() {
        reasons.push(
            "Processing of your data is restricted, so nothing about you is used.".to_owned(),
        );
    } else if !allowed {
        reasons.push(
            "You have not allowed personalization, so this is shown to everyone alike.".to_owned(),
        );
    } else if interests_used.is_empty() {
        reasons.push(
            "Nothing we know about you matches this item; it is shown for its popularity."
                .to_owned(),
        );
    } else {
        for i in &interests_used {
            reasons.push(format!(
                "You showed interest in {} ({:.0}% of your recent interest).",
                i.category,
                i.share * 100.0
            ));
        }
    }
    Ok(Json(ExplanationBody {
        item: ExplainedItem {
            id: item.id,
            title: item.title,
            categories: item.categories,
        },
        personalized,
        reasons,
        interests_used: if personalized {
            interests_used
        } else {
            Vec::new()
        },
        data_used: DataUsedBody {
            events_by_type: if personalized {
                events_by_type
            } else {
                BTreeMap::new()
            },
            first_at: first.filter(|_| personalized).map(Timestamp::to_rfc3339),
            last_at: last.filter(|_| personalized).map(Timestamp::to_rfc3339),
        },
        purposes,
    }))
}
