//! The registry of features a rule may read, with the data category each reads.
//!
//! The category is what the linter checks against the purpose a segment serves, so every
//! feature must name all the categories its value is derived from.

use std::fmt;

/// A type in the rule language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Type {
    /// A number (counts, affinities, days).
    Number,
    /// A condition.
    Bool,
    /// Text.
    String,
    /// A length of time written like `7d`.
    Duration,
}

impl Type {
    /// The name used in error messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Type::Number => "number",
            Type::Bool => "bool",
            Type::String => "string",
            Type::Duration => "duration",
        }
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which feature a call resolves to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FeatureKind {
    /// `interest(category) -> number`
    Interest,
    /// `views(window) -> number`
    Views,
    /// `purchases(window) -> number`
    Purchases,
    /// `viewed_in(category, window) -> bool`
    ViewedIn,
    /// `purchased_in(category, window) -> bool`
    PurchasedIn,
    /// `days_since_last_seen() -> number`
    DaysSinceLastSeen,
    /// `country() -> string`
    Country,
    /// `attribute(name) -> string` (or number for `age`)
    Attribute,
}

/// A feature's signature and the data it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeatureSpec {
    /// The name rules call it by.
    pub name: &'static str,
    /// Which feature it is.
    pub kind: FeatureKind,
    /// Argument types, in order.
    pub args: &'static [Type],
    /// The result type; for `attribute` it depends on the attribute (see [`ATTRIBUTES`]).
    pub result: Type,
    /// The data categories its value is derived from; empty for `attribute`, whose category
    /// depends on the attribute named.
    pub categories: &'static [&'static str],
    /// One line for operators choosing features.
    pub description: &'static str,
}

/// Every feature a rule may call.
pub const FEATURES: &[FeatureSpec] = &[
    FeatureSpec {
        name: "interest",
        kind: FeatureKind::Interest,
        args: &[Type::String],
        result: Type::Number,
        // Affinities are learned from what people view and buy.
        categories: &["browsing", "purchases"],
        description: "affinity for an item category, from 0 to 1",
    },
    FeatureSpec {
        name: "views",
        kind: FeatureKind::Views,
        args: &[Type::Duration],
        result: Type::Number,
        categories: &["browsing"],
        description: "items viewed within the window",
    },
    FeatureSpec {
        name: "purchases",
        kind: FeatureKind::Purchases,
        args: &[Type::Duration],
        result: Type::Number,
        categories: &["purchases"],
        description: "items bought within the window",
    },
    FeatureSpec {
        name: "viewed_in",
        kind: FeatureKind::ViewedIn,
        args: &[Type::String, Type::Duration],
        result: Type::Bool,
        categories: &["browsing"],
        description: "viewed an item of the category within the window",
    },
    FeatureSpec {
        name: "purchased_in",
        kind: FeatureKind::PurchasedIn,
        args: &[Type::String, Type::Duration],
        result: Type::Bool,
        categories: &["purchases"],
        description: "bought an item of the category within the window",
    },
    FeatureSpec {
        name: "days_since_last_seen",
        kind: FeatureKind::DaysSinceLastSeen,
        args: &[],
        result: Type::Number,
        categories: &["browsing"],
        description: "whole days since the last recorded activity",
    },
    FeatureSpec {
        name: "country",
        kind: FeatureKind::Country,
        args: &[],
        result: Type::String,
        categories: &["coarse_location"],
        description: "ISO 3166-1 alpha-2 country code",
    },
    FeatureSpec {
        name: "attribute",
        kind: FeatureKind::Attribute,
        args: &[Type::String],
        result: Type::String,
        categories: &[],
        description: "a declared attribute of the person",
    },
];

/// Looks a feature up by the name rules call it by.
pub fn feature(name: &str) -> Option<&'static FeatureSpec> {
    FEATURES.iter().find(|f| f.name == name)
}

/// A declared attribute and the data category it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttributeSpec {
    /// The attribute name, as in `attribute("postcode")`.
    pub name: &'static str,
    /// Its data category in the policy taxonomy.
    pub category: &'static str,
    /// What `attribute(name)` evaluates to.
    pub result: Type,
}

const fn attr(name: &'static str, category: &'static str) -> AttributeSpec {
    AttributeSpec {
        name,
        category,
        result: Type::String,
    }
}

/// The fixed mapping from attribute names to data categories. It is fixed, not configurable,
/// so that no policy edit can relabel `religion` as ordinary data. Many of these exist only to
/// be refused by the linter with a precise reason instead of "unknown attribute".
pub const ATTRIBUTES: &[AttributeSpec] = &[
    attr("postcode", "postcode"),
    attr("zip", "postcode"),
    attr("city", "coarse_location"),
    attr("region", "coarse_location"),
    attr("first_name", "name"),
    attr("last_name", "name"),
    attr("name", "name"),
    attr("email", "email"),
    attr("phone", "phone"),
    attr("device", "device"),
    attr("browser", "device"),
    attr("gender", "gender"),
    attr("sex", "gender"),
    AttributeSpec {
        name: "age",
        category: "age",
        result: Type::Number,
    },
    attr("age_band", "age"),
    attr("birth_date", "age"),
    attr("religion", "religious_or_philosophical_beliefs"),
    attr("beliefs", "religious_or_philosophical_beliefs"),
    attr("ethnicity", "racial_or_ethnic_origin"),
    attr("race", "racial_or_ethnic_origin"),
    attr("nationality", "racial_or_ethnic_origin"),
    attr("health", "health"),
    attr("disability", "health"),
    attr("pregnancy", "health"),
    attr("sexual_orientation", "sex_life_or_sexual_orientation"),
    attr("political_opinion", "political_opinions"),
    attr("political_party", "political_opinions"),
    attr("trade_union", "trade_union_membership"),
    attr("genetics", "genetic"),
    attr("biometrics", "biometric"),
    attr("precise_location", "precise_geolocation"),
    attr("latitude", "precise_geolocation"),
    attr("longitude", "precise_geolocation"),
    attr("children", "children"),
    attr("school", "children"),
];

/// Looks an attribute up by name.
pub fn attribute(name: &str) -> Option<&'static AttributeSpec> {
    ATTRIBUTES.iter().find(|a| a.name == name)
}
