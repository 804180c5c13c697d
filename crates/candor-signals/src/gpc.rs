//! Global Privacy Control: the `Sec-GPC` request header and the `/.well-known/gpc.json`
//! resource, per the W3C GPC specification.

/// The path at which a site declares that it honours GPC.
pub const GPC_WELL_KNOWN_PATH: &str = "/.well-known/gpc.json";

/// The `lastUpdate` date in [`GPC_WELL_KNOWN_JSON`]; change both together.
pub const GPC_WELL_KNOWN_LAST_UPDATE: &str = "2026-11-23";

/// The body Candor serves at [`GPC_WELL_KNOWN_PATH`] (`application/json`).
pub const GPC_WELL_KNOWN_JSON: &str = r#"{"gpc": true, "lastUpdate": "2026-11-23"}"#;

/// Reads the `Sec-GPC` header: exactly `1` (surrounding whitespace ignored) is an opt-out;
/// any other value, or no header, means no signal.
pub fn parse_sec_gpc(header_value: Option<&str>) -> bool {
    header_value.is_some_and(|value| value.trim() == "1")
}
