//! The two eras of MCP and what a session offers in each.
//!
//! The `initialize` era (2024-11-05 … 2025-11-25) opens with a handshake and keeps state per
//! connection; revision 2026-07-28 (the modern era) has no handshake: every request carries its
//! protocol version and the client's capabilities in `_meta`, and `server/discover` says who the
//! server is. Servers may speak either or both; see handshake.rs for how the era is decided.

use super::capabilities::{
    ClientCapabilities, LATEST_PROTOCOL_VERSION, MODERN_PROTOCOL_VERSIONS,
    SUPPORTED_PROTOCOL_VERSIONS,
};
use serde_json::{json, Value};
use std::fmt;
use std::str::FromStr;

/// Error codes the modern era defines (schema/2026-07-28/schema.ts); -32020..-32099 are
/// reserved for such codes, so any of them marks a modern server.
pub const HEADER_MISMATCH: i64 = -32020;
pub const MISSING_REQUIRED_CLIENT_CAPABILITY: i64 = -32021;
pub const UNSUPPORTED_PROTOCOL_VERSION: i64 = -32022;

/// True for an error code only a modern server sends.
pub fn is_modern_error(code: i64) -> bool {
    (-32099..=-32020).contains(&code)
}

/// The name the spec gives a modern error code, for messages.
pub fn modern_error_name(code: i64) -> Option<&'static str> {
    match code {
        HEADER_MISMATCH => Some("HeaderMismatch: a header disagrees with the request body"),
        MISSING_REQUIRED_CLIENT_CAPABILITY => {
            Some("MissingRequiredClientCapability: the server needs a capability not declared")
        }
        UNSUPPORTED_PROTOCOL_VERSION => Some("UnsupportedProtocolVersion"),
        _ => None,
    }
}

/// The `_meta` keys every modern request carries.
pub const META_PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
pub const META_CLIENT_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
pub const META_CLIENT_INFO: &str = "io.modelcontextprotocol/clientInfo";
/// Where a DiscoverResult names the server.
pub const META_SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";

/// Which era to speak (`--protocol-era`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProtocolEra {
    /// `server/discover` first, then what the server's answer says.
    #[default]
    Auto,
    Modern,
    Legacy,
}

impl FromStr for ProtocolEra {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(ProtocolEra::Auto),
            "modern" => Ok(ProtocolEra::Modern),
            "legacy" => Ok(ProtocolEra::Legacy),
            other => Err(format!(
                "unknown protocol era `{other}` (expected auto, modern or legacy)"
            )),
        }
    }
}

/// The era a session ended up speaking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Era {
    Modern,
    Legacy,
}

impl Era {
    pub fn as_str(self) -> &'static str {
        match self {
            Era::Modern => "modern",
            Era::Legacy => "legacy",
        }
    }
}

impl fmt::Display for Era {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The versions a session offers: one per era.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versions {
    /// What `_meta` carries in the modern era.
    pub modern: String,
    /// What `initialize` offers.
    pub legacy: String,
}

impl Default for Versions {
    fn default() -> Self {
        Versions {
            modern: MODERN_PROTOCOL_VERSIONS[0].to_owned(),
            legacy: LATEST_PROTOCOL_VERSION.to_owned(),
        }
    }
}

impl Versions {
    /// The versions for `--protocol-era era --protocol-version version`: a given version sets
    /// its own era's offer, and must belong to the era asked for.
    pub fn choose(era: ProtocolEra, version: Option<&str>) -> Result<Versions, String> {
        let mut versions = Versions::default();
        let Some(version) = version else {
            return Ok(versions);
        };
        let modern = MODERN_PROTOCOL_VERSIONS.contains(&version);
        let legacy = SUPPORTED_PROTOCOL_VERSIONS.contains(&version);
        match (modern, legacy, era) {
            (false, false, _) => Err(format!(
                "unknown protocol version `{version}` (mcp-probe speaks {} and {})",
                MODERN_PROTOCOL_VERSIONS.join(", "),
                SUPPORTED_PROTOCOL_VERSIONS.join(", ")
            )),
            (true, _, ProtocolEra::Legacy) | (_, true, ProtocolEra::Modern) => Err(format!(
                "protocol version `{version}` is not of the {} era",
                match era {
                    ProtocolEra::Legacy => "legacy (initialize)",
                    _ => "modern (2026-07-28)",
                }
            )),
            (true, _, _) => {
                versions.modern = version.to_owned();
                Ok(versions)
            }
            (_, true, _) => {
                versions.legacy = version.to_owned();
                Ok(versions)
            }
        }
    }
}

/// The `_meta` a modern request carries.
pub fn request_meta(version: &str, capabilities: &ClientCapabilities) -> Value {
    json!({
        META_PROTOCOL_VERSION: version,
        META_CLIENT_CAPABILITIES: capabilities.to_json(),
        META_CLIENT_INFO: {"name": "mcp-probe", "version": env!("CARGO_PKG_VERSION")},
    })
}

/// `params` with `meta` as its `_meta` (merged into one the caller set).
pub fn with_meta(params: Option<Value>, meta: &Value) -> Value {
    let mut params = match params {
        Some(Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    match params.get_mut("_meta") {
        Some(Value::Object(existing)) => {
            if let Value::Object(meta) = meta {
                existing.extend(meta.clone());
            }
        }
        _ => {
            params.insert("_meta".into(), meta.clone());
        }
    }
    Value::Object(params)
}

/// The version to retry with after `-32022`: the first of ours the server lists, modern first.
pub fn mutual_version(supported: Option<&Value>) -> Option<(Era, String)> {
    let listed: Vec<&str> = supported
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let pick = |ours: &[&str]| {
        ours.iter()
            .find(|v| listed.contains(v))
            .map(|v| v.to_string())
    };
    pick(MODERN_PROTOCOL_VERSIONS)
        .map(|v| (Era::Modern, v))
        .or_else(|| pick(SUPPORTED_PROTOCOL_VERSIONS).map(|v| (Era::Legacy, v)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_sets_its_own_era_and_must_fit_the_asked_one() {
        let v = Versions::choose(ProtocolEra::Auto, Some("2025-06-18")).unwrap();
        assert_eq!(
            (v.modern.as_str(), v.legacy.as_str()),
            ("2026-07-28", "2025-06-18")
        );
        let v = Versions::choose(ProtocolEra::Modern, Some("2026-07-28")).unwrap();
        assert_eq!(v.modern, "2026-07-28");
        assert!(Versions::choose(ProtocolEra::Modern, Some("2025-06-18")).is_err());
        assert!(Versions::choose(ProtocolEra::Legacy, Some("2026-07-28")).is_err());
        let err = Versions::choose(ProtocolEra::Auto, Some("1999-01-01")).unwrap_err();
        assert!(
            err.contains("unknown protocol version `1999-01-01`"),
            "{err}"
        );
    }

    #[test]
    fn meta_joins_the_callers_params() {
        let meta = request_meta("2026-07-28", &ClientCapabilities::NONE);
        let params = with_meta(Some(json!({"cursor": "c2"})), &meta);
        assert_eq!(params["cursor"], "c2");
        assert_eq!(params["_meta"][META_PROTOCOL_VERSION], "2026-07-28");
        assert_eq!(params["_meta"][META_CLIENT_CAPABILITIES], json!({}));
        let merged = with_meta(Some(json!({"_meta": {"progressToken": 1}})), &meta);
        assert_eq!(merged["_meta"]["progressToken"], 1);
        assert_eq!(merged["_meta"][META_PROTOCOL_VERSION], "2026-07-28");
    }

    #[test]
    fn retries_take_a_mutual_version_modern_first() {
        let both = json!(["2025-06-18", "2026-07-28"]);
        assert_eq!(
            mutual_version(Some(&both)),
            Some((Era::Modern, "2026-07-28".into()))
        );
        let old = json!(["2025-06-18"]);
        assert_eq!(
            mutual_version(Some(&old)),
            Some((Era::Legacy, "2025-06-18".into()))
        );
        assert_eq!(mutual_version(Some(&json!(["2030-01-01"]))), None);
        assert_eq!(mutual_version(None), None);
    }

    #[test]
    fn modern_errors_are_the_reserved_range() {
        assert!(is_modern_error(UNSUPPORTED_PROTOCOL_VERSION));
        assert!(is_modern_error(-32099));
        assert!(!is_modern_error(-32601));
        assert!(!is_modern_error(-32000));
    }
}
