//! What the client declares, and which protocol versions it speaks.
//!
//! Servers show different tools to different clients (server-everything lists 13 tools to a
//! client that declares nothing, 16 to one that declares roots, sampling and elicitation), so
//! the default declares all three to see the whole surface.

use serde_json::{json, Map, Value};
use std::str::FromStr;

/// The `initialize`-era protocol versions, newest first; the first one is what `initialize`
/// offers.
pub const SUPPORTED_PROTOCOL_VERSIONS: &[&str] =
    &["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];

/// The stateless-era versions (per-request `_meta`, `server/discover`), newest first.
pub const MODERN_PROTOCOL_VERSIONS: &[&str] = &["2026-07-28"];

/// The version `initialize` offers.
pub const LATEST_PROTOCOL_VERSION: &str = SUPPORTED_PROTOCOL_VERSIONS[0];

/// The client capabilities to declare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientCapabilities {
    pub roots: bool,
    pub sampling: bool,
    pub elicitation: bool,
}

impl Default for ClientCapabilities {
    fn default() -> Self {
        ClientCapabilities {
            roots: true,
            sampling: true,
            elicitation: true,
        }
    }
}

impl ClientCapabilities {
    pub const NONE: ClientCapabilities = ClientCapabilities {
        roots: false,
        sampling: false,
        elicitation: false,
    };

    /// The `capabilities` member of `initialize`.
    pub fn to_json(&self) -> Value {
        let mut caps = Map::new();
        if self.roots {
            // We never change roots, so we do not promise list_changed notifications.
            caps.insert("roots".into(), json!({"listChanged": false}));
        }
        if self.sampling {
            caps.insert("sampling".into(), json!({}));
        }
        if self.elicitation {
            caps.insert("elicitation".into(), json!({}));
        }
        Value::Object(caps)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown capability `{0}` (expected a comma list of roots, sampling, elicitation, or `none`)"
)]
pub struct UnknownCapability(pub String);

impl FromStr for ClientCapabilities {
    type Err = UnknownCapability;

    /// `roots,sampling,elicitation` (any subset, any order) or `none`.
    fn from_str(list: &str) -> Result<Self, Self::Err> {
        let mut caps = ClientCapabilities::NONE;
        if list.trim() == "none" {
            return Ok(caps);
        }
        for item in list.split(',').map(str::trim) {
            match item {
                "roots" => caps.roots = true,
                "sampling" => caps.sampling = true,
                "elicitation" => caps.elicitation = true,
                other => return Err(UnknownCapability(other.to_owned())),
            }
        }
        Ok(caps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lists_and_none() {
        assert_eq!(
            "sampling, roots".parse::<ClientCapabilities>().unwrap(),
            ClientCapabilities {
                roots: true,
                sampling: true,
                elicitation: false
            }
        );
        assert_eq!(
            "none".parse::<ClientCapabilities>().unwrap(),
            ClientCapabilities::NONE
        );
        assert_eq!(
            "roots,bogus".parse::<ClientCapabilities>().unwrap_err(),
            UnknownCapability("bogus".into())
        );
        assert!("".parse::<ClientCapabilities>().is_err());
    }

    #[test]
    fn declares_only_what_was_chosen() {
        assert_eq!(ClientCapabilities::NONE.to_json(), json!({}));
        let all = ClientCapabilities::default().to_json();
        assert_eq!(
            all,
            json!({"roots": {"listChanged": false}, "sampling": {}, "elicitation": {}})
        );
    }
}
