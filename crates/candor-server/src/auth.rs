//! Who may do what.
//!
//! Credentials come in two kinds, by where they live:
//!
//! - **Server keys** (`cnd_sk_<id>_<secret>`; keys made before the prefix, `cnd_<id>_<secret>`,
//!   are server keys too) belong on a shop's backend. Scopes `ingest`, `decide`, `sessions`
//!   and `admin`. A browser origin presenting one is refused unless the key lists that
//!   origin, or the origin is Candor's own (the operator console).
//! - **Browser credentials** never open anyone but one person: a *publishable key*
//!   (`cnd_pk_…`, bound to origins) only starts visitor sessions; a *visitor token* (`cvt_…`)
//!   reaches one anonymous visitor whose id Candor picked; a *subject session token*
//!   (`cst_…`) reaches one known person, within its scopes.
//!
//! Keys are stored as a SHA-256 of their secret part, compared in constant time; a key can
//! expire and be revoked. Key records and token signing keys read from the store are cached
//! for [`KEY_CACHE_TTL`], so a revocation reaches every instance within that; unknown ids are
//! always read afresh. A person's token revocation ("not before") is read on every request.
//!
//! Handlers never compare credentials themselves. A server-only handler takes a [`Caller`]
//! (only a server key yields one) and names its scope; a handler about one person calls
//! [`Credential::for_subject`] with the path's id and its [`Act`], and gets back a
//! [`SubjectCap`] holding that person's subject key — the only way such a handler learns
//! whose data to touch. What each credential may do is the one table in [`Act::rule`].

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use candor_app::api_key::{KeyKind, hash_secret, parse_key};
use candor_domain::time::Timestamp;
use candor_domain::{ExternalId, SubjectKey};
use candor_store::{ApiKeyRecord, Scope};
use rand::RngCore;
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::state::AppState;
use candor_app::subject_token::{self, SubjectClaims, TokenError, TokenScope, VisitorClaims};

/// The header a page sends its visitor token in beside a subject token, to merge the
/// visitor into the person it logged in as.
pub const VISITOR_TOKEN_HEADER: &str = "candor-visitor-token";

/// The record of key `id`: from the cache while fresh, otherwise from the store.
async fn key_record(state: &AppState, id: &str) -> Result<Option<Arc<ApiKeyRecord>>, ApiError> {
    if let Some(record) = state.api_keys.get(id) {
        return Ok(Some(record));
    }
    let lookup = id.to_owned();
    let record = state.read(move |store| store.api_key(&lookup)).await?;
    Ok(record.map(|record| {
        let record = Arc::new(record);
        state.api_keys.put(Arc::clone(&record));
        record
    }))
}

// --- Reading credentials off a request. ---

/// The key in `Bearer KEY`, or in `Basic base64(KEY:)`: the form Segment-style libraries send
/// their write key in, so sites instrumented for them can point at Candor unchanged.
pub(crate) fn bearer_or_basic(header: &str) -> Option<String> {
    if let Some(k) = header.strip_prefix("Bearer ") {
        return Some(k.trim().to_owned());
    }
    let encoded = header.strip_prefix("Basic ")?;
    let decoded =
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    Some(
        text.split_once(':')
            .map_or(text.as_str(), |(user, _)| user)
            .to_owned(),
    )
}

fn rejected(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::TokenRejected(code, message.into())
}

fn token_error(e: TokenError) -> ApiError {
    rejected(e.code(), e.to_string())
}

/// A server key that passed every check.
#[derive(Debug, Clone)]
pub struct Caller {
    pub key_id: String,
    pub scopes: Vec<Scope>,
}

impl Caller {
    /// The audit actor for this caller: its key.
    pub fn actor(&self) -> candor_app::audit::Actor {
        candor_app::audit::Actor::api_key(&self.key_id).unwrap_or(candor_app::audit::Actor::System)
    }

    /// Succeeds if the key has any of `allowed` (admin can do everything a server key can).
    pub fn require(&self, allowed: &[Scope]) -> Result<(), ApiError> {
        if !allowed.is_empty()
            && (self.scopes.contains(&Scope::Admin)
                || self.scopes.iter().any(|s| allowed.contains(s)))
        {
            return Ok(());
        }
        if allowed.is_empty() {
            return Err(ApiError::forbidden(
                "not_for_server_keys",
                "no server key may do this: it is for the person's own token (or, to start a \
                 visitor session, a page's publishable key)",
            ));
        }
        let names: Vec<&str> = allowed.iter().map(|s| s.as_str()).collect();
        Err(ApiError::forbidden(
            "insufficient_scope",
            format!(
                "this API key lacks the scope this endpoint needs ({})",
                names.join(" or ")
            ),
        ))
    }
}

/// A visitor token that passed every check, with the subject key of its anonymous id.
#[derive(Debug, Clone)]
pub struct Visitor {
    pub claims: VisitorClaims,
    pub key: SubjectKey,
}

/// A subject session token whose signature and expiry verified, and which its person has not
/// revoked. Whether it is for the person a request names is checked by
/// [`Credential::for_subject`] (or [`Person::check`]), where the subject key is known.
#[derive(Debug, Clone)]
pub struct Person {
    claims: SubjectClaims,
    /// The visitor token sent beside it, to merge that visitor into this person.
    pub visitor: Option<Visitor>,
}

/// Whatever authenticated a request.
#[derive(Debug, Clone)]
pub enum Credential {
    Server(Caller),
    Publishable { key_id: String },
    Visitor(Visitor),
    Person(Person),
}

fn same_origin(headers: &HeaderMap, origin: &str) -> bool {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    origin
        .split_once("://")
        .is_some_and(|(_, rest)| !host.is_empty() && rest.eq_ignore_ascii_case(host))
}

fn origin_of(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::ORIGIN).and_then(|o| o.to_str().ok())
}

/// Refuses a key presented from a browser origin it is not meant for.
fn check_origin(headers: &HeaderMap, record: &ApiKeyRecord) -> Result<(), ApiError> {
    let Some(origin) = origin_of(headers) else {
        return Ok(());
    };
    if record.allowed_origins.iter().any(|o| o == origin) {
        return Ok(());
    }
    if !record.allowed_origins.is_empty() || record.is_publishable() {
        return Err(ApiError::forbidden(
            "origin_not_allowed",
            "this key may not be used from this web origin",
        ));
    }
    // A server key in a browser: only on Candor's own pages (the operator console).
    if same_origin(headers, origin) {
        return Ok(());
    }
    Err(ApiError::forbidden(
        "server_key_from_browser",
        "a server key must stay on the shop's backend; pages use a publishable key and \
         per-person tokens",
    ))
}

/// The checked record of a presented key.
async fn checked_key(
    state: &AppState,
    headers: &HeaderMap,
    raw: &str,
) -> Result<Arc<ApiKeyRecord>, ApiError> {
    let presented =
        parse_key(raw).ok_or_else(|| rejected("key_invalid", "the API key is malformed"))?;
    let record = key_record(state, presented.id)
        .await?
        .filter(|r| bool::from(r.secret_hash.ct_eq(&hash_secret(presented.secret))))
        .filter(|r| r.is_publishable() == (presented.kind == KeyKind::Publishable))
        .ok_or_else(|| rejected("key_invalid", "the API key is not valid"))?;
    let now = state.now();
    if record.revoked_at.is_some() {
        return Err(rejected("key_revoked", "this API key was revoked"));
    }
    if !record.is_live(now) {
        return Err(rejected("key_expired", "this API key has expired"));
    }
    check_origin(headers, &record)?;
    Ok(record)
}

/// Whether tokens under revocation reference `key` (see `subject_token::revocation_ref`)
/// issued at `issued_at` were revoked since.
async fn revoked(
    state: &AppState,
    key: SubjectKey,
    issued_at: Timestamp,
) -> Result<bool, ApiError> {
    let not_before = state
        .read(move |store| store.tokens_not_before(&key))
        .await?;
    Ok(not_before.is_some_and(|nb| issued_at.as_millis() <= nb.as_millis()))
}

async fn checked_visitor(
    state: &AppState,
    headers: &HeaderMap,
    raw: &str,
) -> Result<Visitor, ApiError> {
    let presented = subject_token::present_visitor(raw).map_err(token_error)?;
    let signing = candor_app::signing::verifying_key(state, presented.key_id).await?;
    let claims = subject_token::verify_visitor(&presented, signing.as_ref(), state.now())
        .map_err(token_error)?;
    // The session dies with the publishable key it was started with, and keeps its origins.
    let live = key_record(state, &claims.publishable_key_id)
        .await?
        .filter(|r| r.is_publishable() && r.is_live(state.now()));
    let Some(record) = live else {
        return Err(rejected(
            "token_revoked",
            "the key this visitor session was started with is revoked or expired",
        ));
    };
    check_origin(headers, &record)?;
    let key = SubjectKey::derive(state.secret.as_bytes(), &claims.anonymous_id);
    let reference = subject_token::revocation_ref(state.secret.as_bytes(), &key);
    if revoked(state, reference, claims.issued_at).await? {
        return Err(rejected("token_revoked", "this visitor token was revoked"));
    }
    Ok(Visitor { claims, key })
}

impl FromRequestParts<AppState> for Credential {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let cred = authenticate(parts, state).await?;
        cred.rate_limit(state)?;
        Ok(cred)
    }
}

impl Credential {
    /// Takes a token from this credential's bucket: keys at the keys' rate, browser tokens
    /// (one person each) at the per-person rate.
    fn rate_limit(&self, state: &AppState) -> Result<(), ApiError> {
        let limits = &state.config.limits;
        let (id, per_second, burst): (Vec<u8>, _, _) = match self {
            Credential::Server(c) => (
                [b"k:", c.key_id.as_bytes()].concat(),
                limits.key_requests_per_second,
                limits.key_requests_burst,
            ),
            Credential::Publishable { key_id } => (
                [b"k:", key_id.as_bytes()].concat(),
                limits.key_requests_per_second,
                limits.key_requests_burst,
            ),
            Credential::Visitor(v) => (
                [b"s:".as_slice(), v.key.as_bytes()].concat(),
                limits.subject_requests_per_second,
                limits.subject_requests_burst,
            ),
            Credential::Person(p) => (
                [b"s:".as_slice(), p.claims.revocation_ref().as_bytes()].concat(),
                limits.subject_requests_per_second,
                limits.subject_requests_burst,
            ),
        };
        state.rate.take(&id, per_second, burst).map_err(|wait| {
            ApiError::TooManyRequests(
                "rate_limited",
                format!("too many requests with this credential; retry in {wait} s"),
                wait,
            )
        })
    }
}

/// Reads and checks whatever credential the request carries.
async fn authenticate(parts: &mut Parts, state: &AppState) -> Result<Credential, ApiError> {
    let header = parts.headers.get(header::AUTHORIZATION).ok_or_else(|| {
        ApiError::Unauthenticated(
            "send a key or token as `Authorization: Bearer CREDENTIAL`".into(),
        )
    })?;
    let raw = header
        .to_str()
        .ok()
        .and_then(bearer_or_basic)
        .filter(|k| !k.is_empty())
        .ok_or_else(|| {
            ApiError::Unauthenticated("the Authorization header must be `Bearer CREDENTIAL`".into())
        })?;
    if raw.starts_with(subject_token::TOKEN_PREFIX) {
        let presented = subject_token::present_subject(&raw).map_err(token_error)?;
        let signing = candor_app::signing::verifying_key(state, presented.key_id).await?;
        let claims = subject_token::verify_subject(&presented, signing.as_ref(), state.now())
            .map_err(token_error)?;
        if revoked(state, claims.revocation_ref(), claims.issued_at).await? {
            return Err(rejected(
                "token_revoked",
                "this token was revoked; ask the shop for a new one",
            ));
        }
        let visitor = match parts
            .headers
            .get(VISITOR_TOKEN_HEADER)
            .map(|v| v.to_str().unwrap_or(""))
        {
            None => None,
            Some(v) => Some(checked_visitor(state, &parts.headers, v.trim()).await?),
        };
        return Ok(Credential::Person(Person { claims, visitor }));
    }
    if raw.starts_with(subject_token::VISITOR_PREFIX) {
        return Ok(Credential::Visitor(
            checked_visitor(state, &parts.headers, &raw).await?,
        ));
    }
    let record = checked_key(state, &parts.headers, &raw).await?;
    if record.is_publishable() {
        return Ok(Credential::Publishable {
            key_id: record.id.clone(),
        });
    }
    Ok(Credential::Server(Caller {
        key_id: record.id.clone(),
        scopes: record.scopes.clone(),
    }))
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    /// Only a server key yields a `Caller`: every browser credential is refused.
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match Credential::from_request_parts(parts, state).await? {
            Credential::Server(caller) => Ok(caller),
            _ => Err(needs_server_key()),
        }
    }
}

fn needs_server_key() -> ApiError {
    ApiError::forbidden(
        "needs_server_key",
        "this needs a server key from the shop's backend; browser credentials cannot do it",
    )
}

// --- The table. ---

/// Everything a browser credential may do, and what a server key needs for the same thing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    /// Read the policy (purposes and their texts): anyone holding any credential.
    ReadPolicy,
    /// Read the catalog and item-to-item similarity.
    ReadCatalog,
    /// Start or renew a visitor session.
    StartVisitorSession,
    /// Send events (each event is then checked against whose they are).
    SendEvents,
    /// Check an erasure receipt's signature.
    VerifyReceipt,
    ReadRecommendations,
    ReadPreferences,
    /// Not interested, interested again, self-exclusion: controls anyone acting for the
    /// person may set, because none of them loosens a protection.
    Feedback,
    /// Pausing, resuming, removing from history: only the person.
    PersonalControls,
    ReadConsent,
    WriteConsent,
    ConsentSignals,
    SetTimeZone,
    /// Access, portability, rectification, erasure, restriction, objection, explanations.
    Privacy,
    /// Self-declared audit attributes: only the person, under the fairness consent.
    AuditAttributes,
    /// Void every token issued for the person so far ("sign out everywhere").
    RevokeSessions,
}

/// Who may perform an [`Act`]: the server scopes (admin passes wherever any scope is listed;
/// none listed means no server key may), whether a publishable key or the person's visitor
/// token may, and which scope a subject session token needs (`None`: it may not).
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub server: &'static [Scope],
    pub publishable: bool,
    pub visitor: bool,
    pub person: Option<TokenScope>,
}

impl Act {
    pub const ALL: [Act; 16] = [
        Act::ReadPolicy,
        Act::ReadCatalog,
        Act::StartVisitorSession,
        Act::SendEvents,
        Act::VerifyReceipt,
        Act::ReadRecommendations,
        Act::ReadPreferences,
        Act::Feedback,
        Act::PersonalControls,
        Act::ReadConsent,
        Act::WriteConsent,
        Act::ConsentSignals,
        Act::SetTimeZone,
        Act::Privacy,
        Act::AuditAttributes,
        Act::RevokeSessions,
    ];

    /// The one table of who may do what.
    pub fn rule(self) -> Rule {
        use Scope::{Admin, Decide, Ingest};
        let r = |server, publishable, visitor, person| Rule {
            server,
            publishable,
            visitor,
            person,
        };
        match self {
            Act::ReadPolicy => r(&[Ingest, Decide], true, true, Some(TokenScope::Consent)),
            Act::ReadCatalog => r(
                &[Ingest, Decide],
                false,
                true,
                Some(TokenScope::Recommendations),
            ),
            Act::StartVisitorSession => r(&[], true, true, None),
            Act::SendEvents => r(&[Ingest], false, true, Some(TokenScope::Events)),
            Act::VerifyReceipt => r(&[Ingest, Decide], false, false, Some(TokenScope::Privacy)),
            Act::ReadRecommendations => {
                r(&[Decide], false, true, Some(TokenScope::Recommendations))
            }
            Act::ReadPreferences => r(
                &[Ingest, Decide],
                false,
                true,
                Some(TokenScope::Recommendations),
            ),
            Act::Feedback => r(&[Ingest], false, true, Some(TokenScope::Recommendations)),
            Act::PersonalControls => r(&[], false, true, Some(TokenScope::Recommendations)),
            Act::ReadConsent => r(&[Decide], false, true, Some(TokenScope::Consent)),
            Act::WriteConsent | Act::ConsentSignals => {
                r(&[Ingest], false, true, Some(TokenScope::Consent))
            }
            Act::SetTimeZone => r(&[Ingest], false, true, Some(TokenScope::Events)),
            Act::Privacy | Act::RevokeSessions => {
                r(&[Admin], false, false, Some(TokenScope::Privacy))
            }
            Act::AuditAttributes => r(&[], false, false, Some(TokenScope::Privacy)),
        }
    }
}

/// Who is acting on a person, once authorized.
#[derive(Debug, Clone)]
pub enum By {
    /// A shop's backend or an operator, by server key.
    Server(Caller),
    /// The person's own anonymous visitor session.
    Visitor,
    /// The person, by their subject session token.
    Person,
}

/// Leave to act on one person: only [`Credential::for_subject`] makes one.
#[derive(Debug, Clone)]
pub struct SubjectCap {
    key: SubjectKey,
    pub by: By,
}

impl SubjectCap {
    /// Whose data this capability reaches.
    pub fn key(&self) -> SubjectKey {
        self.key
    }

    /// The same leave for a more demanding act on the same person: refused if the credential
    /// that gave it could not have performed `act`. (For acts that need the request's body to
    /// tell apart, such as feedback that pauses.)
    pub fn narrow(&self, act: Act) -> Result<(), ApiError> {
        let rule = act.rule();
        match &self.by {
            By::Server(caller) => caller.require(rule.server),
            By::Visitor if rule.visitor => Ok(()),
            By::Visitor => Err(ApiError::forbidden(
                "needs_subject_token",
                "this needs the person's own session token (a logged-in person)",
            )),
            By::Person => match rule.person {
                Some(_) => Ok(()),
                None => Err(needs_server_key()),
            },
        }
    }

    /// Whether a server key authorized it (protections may be loosened only then).
    pub fn is_server(&self) -> bool {
        matches!(self.by, By::Server(_))
    }

    /// What to log as the acting credential: the key id, or the kind of token.
    pub fn label(&self) -> &str {
        match &self.by {
            By::Server(caller) => &caller.key_id,
            By::Visitor => "visitor-token",
            By::Person => "subject-token",
        }
    }

    /// Who acted, for the request log and answers: `operator` or `subject`.
    pub fn actor(&self) -> &'static str {
        match self.by {
            By::Server(_) => "operator",
            By::Visitor | By::Person => "subject",
        }
    }

    /// Who acted, as the audit log names them.
    pub fn audit_actor(&self) -> candor_app::audit::Actor {
        match &self.by {
            By::Server(caller) => caller.actor(),
            By::Visitor | By::Person => candor_app::audit::Actor::Subject,
        }
    }
}

fn publishable_refused() -> ApiError {
    ApiError::forbidden(
        "publishable_key_not_allowed",
        "a publishable key can only start a visitor session (POST /v1/visitor-sessions)",
    )
}

fn wrong_subject() -> ApiError {
    ApiError::forbidden(
        "token_wrong_subject",
        "this token was issued for another person",
    )
}

fn scope_missing(scope: TokenScope) -> ApiError {
    ApiError::forbidden(
        "token_scope_missing",
        format!("this token lacks the `{}` scope this needs", scope.as_str()),
    )
}

impl Person {
    /// Succeeds if the token is for `key` and has `scope`.
    pub fn check(
        &self,
        state: &AppState,
        key: SubjectKey,
        scope: TokenScope,
    ) -> Result<(), ApiError> {
        if !self.claims.is_for(state.secret.as_bytes(), &key) {
            return Err(wrong_subject());
        }
        if !self.claims.scopes.contains(scope) {
            return Err(scope_missing(scope));
        }
        Ok(())
    }

    /// Whether the token is for `key`.
    pub fn is_for(&self, state: &AppState, key: &SubjectKey) -> bool {
        self.claims.is_for(state.secret.as_bytes(), key)
    }

    pub fn scopes(&self) -> subject_token::TokenScopes {
        self.claims.scopes
    }
}

impl Credential {
    /// Succeeds if this credential may perform `act`, which is about no one in particular.
    pub fn allow(&self, act: Act) -> Result<(), ApiError> {
        let rule = act.rule();
        match self {
            Credential::Server(caller) => caller.require(rule.server),
            Credential::Publishable { .. } if rule.publishable => Ok(()),
            Credential::Publishable { .. } => Err(publishable_refused()),
            Credential::Visitor(_) if rule.visitor => Ok(()),
            Credential::Person(p) => match rule.person {
                Some(scope) if p.claims.scopes.contains(scope) => Ok(()),
                Some(scope) => Err(scope_missing(scope)),
                None => Err(needs_server_key()),
            },
            Credential::Visitor(_) => Err(needs_server_key()),
        }
    }

    /// Leave to perform `act` on the person the shop calls `id`, or the refusal: 403 for a
    /// credential that may not, or that belongs to someone else; 401 for a revoked token.
    pub async fn for_subject(
        &self,
        state: &AppState,
        id: &str,
        act: Act,
    ) -> Result<SubjectCap, ApiError> {
        let rule = act.rule();
        let by = match self {
            Credential::Server(caller) => {
                caller.require(rule.server)?;
                By::Server(caller.clone())
            }
            Credential::Publishable { .. } => return Err(publishable_refused()),
            Credential::Visitor(v) => {
                if !rule.visitor {
                    return Err(ApiError::forbidden(
                        "needs_subject_token",
                        "this needs the person's own session token (a logged-in person), or a \
                         server key",
                    ));
                }
                let key = state.subject_key(id)?;
                if key != v.key {
                    return Err(wrong_subject());
                }
                return Ok(SubjectCap {
                    key,
                    by: By::Visitor,
                });
            }
            Credential::Person(p) => {
                let scope = rule.person.ok_or_else(needs_server_key)?;
                let key = state.subject_key(id)?;
                p.check(state, key, scope)?;
                return Ok(SubjectCap {
                    key,
                    by: By::Person,
                });
            }
        };
        Ok(SubjectCap {
            key: state.subject_key(id)?,
            by,
        })
    }
}

/// One unit type per variant of `$enum`, each naming its variant through `$kind::$konst`, so
/// a handler's signature can say which scope or act it needs.
macro_rules! kinds {
    ($kind:ident::$konst:ident = $enum:ident: $($name:ident),* $(,)?) => {
        $(
            #[derive(Debug)]
            pub struct $name;
            impl $kind for $name {
                const $konst: $enum = $enum::$name;
            }
        )*
    };
}

/// A server scope as a type: `Server<scope::Admin>` is a server key with that scope (admin
/// passes for every scope), checked in the extractor before the handler runs and before its
/// body is read.
pub trait ScopeKind: Send + Sync + 'static {
    const SCOPE: Scope;
}

/// One type per server scope, for [`Server`].
pub mod scope {
    use super::{Scope, ScopeKind};

    kinds!(ScopeKind::SCOPE = Scope: Ingest, Decide, Sessions, Admin);
}

/// A server key holding scope `S`.
#[derive(Debug)]
pub struct Server<S>(Caller, std::marker::PhantomData<S>);

impl<S> std::ops::Deref for Server<S> {
    type Target = Caller;
    fn deref(&self) -> &Caller {
        &self.0
    }
}

impl<S: ScopeKind> FromRequestParts<AppState> for Server<S> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        caller.require(&[S::SCOPE])?;
        Ok(Server(caller, std::marker::PhantomData))
    }
}

/// An [`Act`] as a type, so a handler names what it does in its signature and the check runs
/// in the extractor, before the handler and before its body is read.
pub trait ActKind: Send + Sync + 'static {
    const ACT: Act;
}

/// One type per [`Act`], for [`Allowed`] and [`Access`].
pub mod act {
    use super::{Act, ActKind};

    kinds!(ActKind::ACT = Act:
        ReadPolicy,
        ReadCatalog,
        StartVisitorSession,
        SendEvents,
        VerifyReceipt,
        ReadRecommendations,
        ReadPreferences,
        Feedback,
        PersonalControls,
        ReadConsent,
        WriteConsent,
        ConsentSignals,
        SetTimeZone,
        Privacy,
        AuditAttributes,
        RevokeSessions,
    );
}

/// A credential allowed to perform `A`, which is about no one in particular.
#[derive(Debug)]
pub struct Allowed<A>(pub Credential, pub std::marker::PhantomData<A>);

impl<A: ActKind> FromRequestParts<AppState> for Allowed<A> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let cred = Credential::from_request_parts(parts, state).await?;
        cred.allow(A::ACT)?;
        Ok(Allowed(cred, std::marker::PhantomData))
    }
}

/// Leave to perform `A` on the person the path's `{id}` names: the only way a handler about
/// one person learns whose subject key to use.
#[derive(Debug)]
pub struct Access<A>(SubjectCap, std::marker::PhantomData<A>);

impl<A> std::ops::Deref for Access<A> {
    type Target = SubjectCap;
    fn deref(&self) -> &SubjectCap {
        &self.0
    }
}

impl<A: ActKind> FromRequestParts<AppState> for Access<A> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let cred = Credential::from_request_parts(parts, state).await?;
        let params = axum::extract::RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::bad_request("invalid_path", "the path is malformed"))?;
        let id = params
            .iter()
            .find(|(name, _)| *name == "id")
            .map(|(_, value)| value.to_owned())
            .ok_or_else(|| ApiError::Internal("a subject route without an {id}".into()))?;
        let cap = cred.for_subject(state, &id, A::ACT).await?;
        Ok(Access(cap, std::marker::PhantomData))
    }
}

/// Mints a visitor session for a fresh anonymous id, or renews `renew`'s.
pub async fn start_visitor_session(
    state: &AppState,
    publishable_key_id: &str,
    renew: Option<&VisitorClaims>,
) -> Result<(ExternalId, String, Timestamp), ApiError> {
    let random = match renew.and_then(|c| subject_token::anonymous_random(&c.anonymous_id)) {
        Some(r) => r,
        None => {
            let mut r = [0u8; subject_token::ANONYMOUS_ID_BYTES];
            rand::thread_rng().fill_bytes(&mut r);
            r
        }
    };
    let now = state.now();
    let ttl = state.config.subject_rights.visitor_token_ttl_seconds;
    let expires_at = now.plus_millis(i64::try_from(ttl).unwrap_or(86_400) * 1_000);
    let signing = candor_app::signing::signing_key(state).await?;
    let token = subject_token::issue_visitor(&signing, random, publishable_key_id, now, expires_at)
        .ok_or_else(|| ApiError::Internal("a publishable key id is not hex".into()))?;
    Ok((subject_token::anonymous_id(random), token, expires_at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_never_lets_a_publishable_key_near_a_person() {
        for act in Act::ALL {
            let rule = act.rule();
            if rule.publishable {
                assert!(
                    matches!(act, Act::ReadPolicy | Act::StartVisitorSession),
                    "{act:?}"
                );
            }
        }
        // What only the person may do, no server key can.
        assert!(Act::AuditAttributes.rule().server.is_empty());
        assert!(Act::PersonalControls.rule().server.is_empty());
    }
}
