//! Revision 2026-07-28 ("modern"): no `initialize` handshake and no sessions. Every request
//! carries its protocol version and the client's capabilities in `params._meta`, and list
//! results say how long they may be cached.

use crate::protocol::{self, Offer, RpcError, INVALID_PARAMS};
use serde_json::{json, Value};

/// The modern versions this server speaks, newest first.
pub const VERSIONS: &[&str] = &["2026-07-28"];

pub const PROTOCOL_VERSION_KEY: &str = "io.modelcontextprotocol/protocolVersion";
pub const CLIENT_CAPABILITIES_KEY: &str = "io.modelcontextprotocol/clientCapabilities";
const SERVER_INFO_KEY: &str = "io.modelcontextprotocol/serverInfo";

pub const HEADER_MISMATCH: i64 = -32020;
pub const UNSUPPORTED_PROTOCOL_VERSION: i64 = -32022;

/// How long clients may cache lists and discovery: the catalog never changes while we run.
const TTL_MS: u64 = 60_000;

/// Whether `message`'s `_meta` names a protocol version, which only modern clients send.
pub fn declares_version(message: &Value) -> bool {
    message["params"]["_meta"]
        .get(PROTOCOL_VERSION_KEY)
        .is_some()
}

/// Answers one modern request: admitted first, then run.
pub fn answer(offer: &Offer, method: &str, params: &Value) -> Result<Value, RpcError> {
    admit(method, params)?;
    run(offer, method, params)
}

/// What every modern request must pass before its method runs; the version it asked for.
/// The HTTP transport answers these refusals with 400, so they are kept apart from `run`.
pub fn admit<'a>(method: &str, params: &'a Value) -> Result<&'a str, RpcError> {
    let meta = &params["_meta"];
    if method == "initialize" {
        // A legacy handshake: name the versions we do speak (as the Python SDK does), since
        // a legacy client can only show this error, not fall forward.
        let requested = params["protocolVersion"]
            .as_str()
            .or(meta[PROTOCOL_VERSION_KEY].as_str())
            .unwrap_or_default();
        return Err(unsupported_version(requested));
    }
    let (Some(version), true) = (
        meta[PROTOCOL_VERSION_KEY].as_str(),
        meta[CLIENT_CAPABILITIES_KEY].is_object(),
    ) else {
        return Err(RpcError::new(
            INVALID_PARAMS,
            format!(
                "Invalid params: params._meta must carry \"{PROTOCOL_VERSION_KEY}\" (a string) \
                 and \"{CLIENT_CAPABILITIES_KEY}\" (an object)"
            ),
        ));
    };
    if !VERSIONS.contains(&version) {
        return Err(unsupported_version(version));
    }
    Ok(version)
}

fn unsupported_version(requested: &str) -> RpcError {
    RpcError {
        code: UNSUPPORTED_PROTOCOL_VERSION,
        message: format!("Unsupported protocol version: {requested}"),
        data: Some(json!({"supported": VERSIONS, "requested": requested})),
    }
}

/// Runs an admitted request. `ping`, `logging/setLevel` and the handshake are gone in this
/// revision, so they are unknown methods here.
fn run(offer: &Offer, method: &str, params: &Value) -> Result<Value, RpcError> {
    let mut result = match method {
        "server/discover" => cacheable(json!({
            "supportedVersions": VERSIONS,
            "capabilities": protocol::capabilities(offer),
            "instructions": protocol::INSTRUCTIONS,
        })),
        "tools/call" => protocol::call_tool(offer, params)?,
        _ => match protocol::list(offer, method, params) {
            Some(page) => cacheable(page?),
            None => return Err(protocol::method_not_found(method).into()),
        },
    };
    result["resultType"] = offer
        .result_type(method)
        .cloned()
        .unwrap_or_else(|| json!("complete"));
    // Every result SHOULD name the server, now that no handshake does.
    result["_meta"] = json!({ SERVER_INFO_KEY: protocol::server_info() });
    Ok(result)
}

/// Lists and discovery are the same for every caller and change only on restart.
fn cacheable(mut result: Value) -> Value {
    result["ttlMs"] = json!(TTL_MS);
    result["cacheScope"] = json!("public");
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog;
    use crate::protocol::{handle, Era};

    fn offer(era: Era, tools: usize, page_size: usize) -> Offer {
        Offer {
            tools: catalog::tools(tools),
            page_size,
            prompts: Some(catalog::prompts(2)),
            resources: Some(catalog::resources(1)),
            era,
            ..Offer::default()
        }
    }

    fn envelope() -> Value {
        json!({
            PROTOCOL_VERSION_KEY: "2026-07-28",
            CLIENT_CAPABILITIES_KEY: {},
            "io.modelcontextprotocol/clientInfo": {"name": "test", "version": "0"}
        })
    }

    /// A request with the modern `_meta` envelope merged into `params`.
    fn modern(method: &str, mut params: Value) -> Value {
        params["_meta"] = envelope();
        json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
    }

    fn legacy(method: &str, params: Value) -> Value {
        json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
    }

    fn reply(offer: &Offer, message: &Value) -> Value {
        handle(offer, message).expect("a request gets a reply")
    }

    #[test]
    fn discover_says_versions_capabilities_and_caching() {
        let o = offer(Era::Both, 3, 0);
        let result = &reply(&o, &modern("server/discover", json!({})))["result"];
        assert_eq!(result["resultType"], "complete");
        assert_eq!(result["supportedVersions"], json!(["2026-07-28"]));
        assert_eq!(result["capabilities"], protocol::capabilities(&o));
        assert!(result["capabilities"]["prompts"].is_object());
        assert_eq!(
            result["_meta"][SERVER_INFO_KEY]["name"],
            "mcp-example-server"
        );
        assert_eq!(result["instructions"], protocol::INSTRUCTIONS);
        assert_eq!(result["ttlMs"], 60_000);
        assert_eq!(result["cacheScope"], "public");
    }

    #[test]
    fn an_unsupported_version_names_supported_and_requested() {
        let mut message = modern("tools/list", json!({}));
        message["params"]["_meta"][PROTOCOL_VERSION_KEY] = json!("2025-11-25");
        let error = &reply(&offer(Era::Both, 1, 0), &message)["error"];
        assert_eq!(error["code"], UNSUPPORTED_PROTOCOL_VERSION);
        assert_eq!(
            error["data"],
            json!({"supported": ["2026-07-28"], "requested": "2025-11-25"})
        );
    }

    #[test]
    fn missing_client_capabilities_is_invalid_params() {
        let mut message = modern("tools/list", json!({}));
        message["params"]["_meta"]
            .as_object_mut()
            .unwrap()
            .remove(CLIENT_CAPABILITIES_KEY);
        let error = &reply(&offer(Era::Both, 1, 0), &message)["error"];
        assert_eq!(error["code"], INVALID_PARAMS);
        assert!(error["message"]
            .as_str()
            .unwrap()
            .contains(CLIENT_CAPABILITIES_KEY));
    }

    #[test]
    fn lists_page_as_legacy_ones_and_say_how_to_cache() {
        let o = offer(Era::Both, 12, 5);
        let (mut names, mut cursor, mut pages) = (vec![], None::<String>, 0);
        loop {
            let params = cursor.map_or(json!({}), |c| json!({"cursor": c}));
            let result = reply(&o, &modern("tools/list", params))["result"].clone();
            assert_eq!(
                (
                    &result["resultType"],
                    &result["ttlMs"],
                    &result["cacheScope"]
                ),
                (&json!("complete"), &json!(60_000), &json!("public"))
            );
            names.extend(result["tools"].as_array().unwrap().iter().cloned());
            pages += 1;
            cursor = result["nextCursor"].as_str().map(str::to_owned);
            if cursor.is_none() {
                break;
            }
        }
        assert_eq!(pages, 3);
        assert_eq!(
            names,
            catalog::tools(12),
            "every tool once, in catalog order"
        );
        for method in ["prompts/list", "resources/list", "resources/templates/list"] {
            let result = &reply(&o, &modern(method, json!({})))["result"];
            assert_eq!(result["resultType"], "complete", "{method}");
            assert_eq!(result["cacheScope"], "public", "{method}");
        }
    }

    #[test]
    fn tools_call_is_complete_and_handshake_era_methods_are_gone() {
        let o = offer(Era::Both, 1, 0);
        let call = modern(
            "tools/call",
            json!({"name": "echo", "arguments": {"message": "hi"}}),
        );
        let result = &reply(&o, &call)["result"];
        assert_eq!(result["content"][0]["text"], "hi");
        assert_eq!(result["resultType"], "complete");
        for method in ["ping", "logging/setLevel"] {
            let message = modern(method, json!({"level": "info"}));
            assert_eq!(reply(&o, &message)["error"]["code"], -32601, "{method}");
        }
    }

    #[test]
    fn legacy_era_ignores_modern_meta_and_knows_no_discover() {
        let o = offer(Era::Legacy, 3, 0);
        let error = &reply(&o, &modern("server/discover", json!({})))["error"];
        assert_eq!(error["code"], -32601);
        let result = &reply(&o, &modern("tools/list", json!({})))["result"];
        assert!(result.get("resultType").is_none());
        let both = offer(Era::Both, 3, 0);
        assert_eq!(
            reply(&both, &legacy("server/discover", json!({})))["error"]["code"],
            -32601,
            "without _meta a discover is a legacy request"
        );
    }

    #[test]
    fn modern_era_refuses_initialize_and_requests_without_meta() {
        let o = offer(Era::Modern, 3, 0);
        let init = legacy(
            "initialize",
            json!({"protocolVersion": "2025-06-18", "capabilities": {}}),
        );
        let error = &reply(&o, &init)["error"];
        assert_eq!(error["code"], UNSUPPORTED_PROTOCOL_VERSION);
        assert_eq!(
            error["data"],
            json!({"supported": ["2026-07-28"], "requested": "2025-06-18"})
        );
        for method in ["tools/list", "ping"] {
            let error = &reply(&o, &legacy(method, json!({})))["error"];
            assert_eq!(error["code"], INVALID_PARAMS, "{method}");
            assert!(error["message"].as_str().unwrap().contains("_meta"));
        }
    }

    #[test]
    fn both_era_answers_legacy_requests_as_the_legacy_era_does() {
        let requests = [
            legacy("initialize", json!({"protocolVersion": "2025-06-18"})),
            legacy("ping", json!({})),
            legacy("tools/list", json!({"cursor": "2"})),
            legacy(
                "tools/call",
                json!({"name": "get_weather", "arguments": {}}),
            ),
            legacy("prompts/list", json!({})),
            legacy("resources/templates/list", json!({})),
            legacy("server/discover", json!({})),
        ];
        for request in &requests {
            assert_eq!(
                handle(&offer(Era::Both, 9, 4), request),
                handle(&offer(Era::Legacy, 9, 4), request)
            );
        }
    }
}
