//! JSON-RPC message handling, shared by the stdio and HTTP transports: the `initialize` era
//! here, revision 2026-07-28 in `modern`; `Era` picks which one answers a request.

use crate::{catalog, modern};
use serde_json::{json, Value};

/// Newest first; `initialize` answers with the client's version when it is listed here.
pub const SUPPORTED_VERSIONS: &[&str] = &["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];

pub const METHOD_NOT_FOUND: i64 = -32601;
pub const INVALID_PARAMS: i64 = -32602;

/// What `initialize` and `server/discover` say about how to use the server.
pub const INSTRUCTIONS: &str = "A demo server: its tools only echo what they are given.";

/// Which protocol eras the server speaks (`--era`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Era {
    /// Each request decides: modern `_meta` gets 2026-07-28 rules, any other the legacy ones.
    #[default]
    Both,
    /// Only 2026-07-28: `initialize` and requests without the `_meta` envelope are refused.
    Modern,
    /// Only the `initialize` era (2024-11-05 to 2025-11-25), like a TypeScript SDK v1 server.
    Legacy,
}

impl Era {
    /// Whether `message` is answered by the 2026-07-28 rules under this era.
    pub fn answers_modern(self, message: &Value) -> bool {
        match self {
            Era::Both => modern::declares_version(message),
            Era::Modern => true,
            Era::Legacy => false,
        }
    }
}

/// A JSON-RPC error; `data` only where the spec defines some (modern errors).
#[derive(Debug, Clone, PartialEq)]
pub struct RpcError {
    pub code: i64,
    pub message: String,
    pub data: Option<Value>,
}

impl RpcError {
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        RpcError {
            code,
            message: message.into(),
            data: None,
        }
    }

    pub fn to_json(&self) -> Value {
        let mut error = json!({"code": self.code, "message": self.message});
        if let Some(data) = &self.data {
            error["data"] = data.clone();
        }
        error
    }
}

impl From<(i64, String)> for RpcError {
    fn from((code, message): (i64, String)) -> Self {
        RpcError::new(code, message)
    }
}

/// What the server offers, from the command line.
#[derive(Debug, Clone, Default)]
pub struct Offer {
    pub tools: Vec<Value>,
    /// 0 serves every item in one page.
    pub page_size: usize,
    /// `None`: prompts are not offered.
    pub prompts: Option<Vec<Value>>,
    /// `None`: neither resources nor templates are offered.
    pub resources: Option<Vec<Value>>,
    pub era: Era,
    /// Hostile: lists never end (see `--endless-pages`).
    pub endless_pages: bool,
    /// Hostile: the size of the `padding` member of every list page (0: none).
    pub page_padding: usize,
    /// Hostile: the `resultType` a list method's results carry (see `--result-type`).
    pub result_types: Vec<(String, Value)>,
}

impl Offer {
    /// The `resultType` `--result-type` set for `method`, if any.
    pub fn result_type(&self, method: &str) -> Option<&Value> {
        self.result_types
            .iter()
            .find(|(m, _)| m == method)
            .map(|(_, value)| value)
    }
}

/// Answers one message; `None` for notifications and replies (nothing to send back).
pub fn handle(offer: &Offer, message: &Value) -> Option<Value> {
    let id = message.get("id")?.clone();
    let Some(method) = message.get("method").and_then(Value::as_str) else {
        return None; // a reply to a request we never send
    };
    let params = message.get("params").cloned().unwrap_or(Value::Null);
    let outcome = if offer.era.answers_modern(message) {
        modern::answer(offer, method, &params)
    } else {
        legacy(offer, method, &params).map_err(RpcError::from)
    };
    Some(match outcome {
        Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
        Err(error) => json!({"jsonrpc": "2.0", "id": id, "error": error.to_json()}),
    })
}

fn legacy(offer: &Offer, method: &str, params: &Value) -> Result<Value, (i64, String)> {
    match method {
        "initialize" => Ok(initialize(offer, params)),
        "ping" => Ok(json!({})),
        "tools/call" => call_tool(offer, params),
        _ => list(offer, method, params).unwrap_or_else(|| Err(method_not_found(method))),
    }
}

pub fn method_not_found(method: &str) -> (i64, String) {
    (METHOD_NOT_FOUND, format!("Method not found: {method}"))
}

/// A page of the list `method` names; `None` when it is not a list this offer serves.
pub fn list(offer: &Offer, method: &str, params: &Value) -> Option<Result<Value, (i64, String)>> {
    let (items, key) = match (method, &offer.prompts, &offer.resources) {
        ("tools/list", _, _) => (&offer.tools[..], "tools"),
        ("prompts/list", Some(prompts), _) => (&prompts[..], "prompts"),
        ("resources/list", _, Some(resources)) => (&resources[..], "resources"),
        ("resources/templates/list", _, Some(_)) => {
            let templates = catalog::resource_templates();
            return Some(page(offer, &templates, params, "resourceTemplates", method));
        }
        _ => return None,
    };
    Some(page(offer, items, params, key, method))
}

/// The version `initialize` settles on: the client's when supported, else our newest.
pub fn negotiate(requested: Option<&str>) -> &'static str {
    SUPPORTED_VERSIONS
        .iter()
        .find(|v| Some(**v) == requested)
        .unwrap_or(&SUPPORTED_VERSIONS[0])
}

/// The same in both eras: `initialize` and `server/discover` answer with it.
pub fn capabilities(offer: &Offer) -> Value {
    let mut capabilities = json!({"tools": {"listChanged": false}});
    if offer.prompts.is_some() {
        capabilities["prompts"] = json!({"listChanged": false});
    }
    if offer.resources.is_some() {
        capabilities["resources"] = json!({"subscribe": false, "listChanged": false});
    }
    capabilities
}

pub fn server_info() -> Value {
    json!({"name": "mcp-example-server", "version": env!("CARGO_PKG_VERSION")})
}

fn initialize(offer: &Offer, params: &Value) -> Value {
    let version = negotiate(params.get("protocolVersion").and_then(Value::as_str));
    json!({
        "protocolVersion": version,
        "capabilities": capabilities(offer),
        "serverInfo": server_info(),
        "instructions": INSTRUCTIONS
    })
}

/// One page of `items`; the cursor is the index of the page's first item, as a string, and
/// with `--endless-pages`, past the first round, also the round (`START.ROUND`), so that
/// every cursor is new.
fn page(
    offer: &Offer,
    items: &[Value],
    params: &Value,
    key: &str,
    method: &str,
) -> Result<Value, (i64, String)> {
    let (start, round) = match params.get("cursor") {
        None | Some(Value::Null) => (0, 0),
        Some(Value::String(cursor)) => match parse_cursor(cursor) {
            Some((start, round)) if start < items.len() => (start, round),
            _ => return Err((-32602, format!("Invalid cursor: {cursor}"))),
        },
        Some(other) => return Err((-32602, format!("Invalid cursor: {other}"))),
    };
    let end = if offer.page_size == 0 {
        items.len()
    } else {
        (start + offer.page_size).min(items.len())
    };
    let mut result = json!({ key: items[start..end] });
    let cursor = |start: usize, round: u64| match round {
        0 => start.to_string(),
        _ => format!("{start}.{round}"),
    };
    if end < items.len() {
        result["nextCursor"] = json!(cursor(end, round));
    } else if offer.endless_pages && !items.is_empty() {
        result["nextCursor"] = json!(cursor(0, round + 1));
    }
    if let Some(result_type) = offer.result_type(method) {
        result["resultType"] = result_type.clone();
    }
    if offer.page_padding > 0 {
        result["padding"] = json!("x".repeat(offer.page_padding));
    }
    Ok(result)
}

/// `START` or `START.ROUND`.
fn parse_cursor(cursor: &str) -> Option<(usize, u64)> {
    let (start, round) = cursor.split_once('.').unwrap_or((cursor, "0"));
    Some((start.parse().ok()?, round.parse().ok()?))
}

pub fn call_tool(offer: &Offer, params: &Value) -> Result<Value, (i64, String)> {
    let name = params
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let tool = offer
        .tools
        .iter()
        .find(|t| t["name"] == name)
        .ok_or_else(|| (-32602, format!("Unknown tool: {name}")))?;
    let arguments = params
        .get("arguments")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let text = if name == "echo" {
        arguments
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    } else {
        format!("{name} called with {arguments}")
    };
    let mut result = json!({"content": [{"type": "text", "text": text}], "isError": false});
    if tool.get("outputSchema").is_some() {
        // Canned values that satisfy the declared output schemas.
        result["structuredContent"] = match name {
            "get_weather" => json!({"temperature": 21.5, "conditions": "clear"}),
            _ => json!({"number": 1, "url": "https://tracker.example/issues/1"}),
        };
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(tools: usize, page_size: usize) -> Offer {
        Offer {
            tools: catalog::tools(tools),
            page_size,
            ..Offer::default()
        }
    }

    fn request(method: &str, params: Value) -> Value {
        json!({"jsonrpc": "2.0", "id": 7, "method": method, "params": params})
    }

    #[test]
    fn initialize_negotiates_the_version() {
        let o = offer(1, 0);
        let old = handle(
            &o,
            &request("initialize", json!({"protocolVersion": "2025-03-26"})),
        );
        assert_eq!(old.unwrap()["result"]["protocolVersion"], "2025-03-26");
        let unknown = handle(
            &o,
            &request("initialize", json!({"protocolVersion": "1999-01-01"})),
        );
        assert_eq!(
            unknown.unwrap()["result"]["protocolVersion"],
            SUPPORTED_VERSIONS[0]
        );
    }

    #[test]
    fn tools_list_pages_until_no_cursor() {
        let o = offer(12, 5);
        let (mut names, mut cursor, mut pages) = (vec![], None::<String>, 0);
        loop {
            let params = cursor.map_or(json!({}), |c| json!({"cursor": c}));
            let reply = handle(&o, &request("tools/list", params)).unwrap();
            let result = &reply["result"];
            names.extend(
                result["tools"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| t["name"].clone()),
            );
            pages += 1;
            cursor = result["nextCursor"].as_str().map(str::to_owned);
            if cursor.is_none() {
                break;
            }
        }
        assert_eq!((names.len(), pages), (12, 3));
    }

    #[test]
    fn endless_pages_never_repeat_a_cursor_and_result_types_are_as_set() {
        let o = Offer {
            endless_pages: true,
            result_types: vec![("tools/list".into(), json!({"x": 1}))],
            page_padding: 10,
            ..offer(3, 2)
        };
        let mut seen = std::collections::HashSet::new();
        let mut cursor = None::<String>;
        for _ in 0..10 {
            let params = cursor.map_or(json!({}), |c| json!({"cursor": c}));
            let result = handle(&o, &request("tools/list", params)).unwrap()["result"].clone();
            assert_eq!(result["resultType"], json!({"x": 1}));
            assert_eq!(result["padding"], "x".repeat(10));
            let next = result["nextCursor"].as_str().unwrap().to_owned();
            assert!(seen.insert(next.clone()), "{next} repeated");
            cursor = Some(next);
        }
    }

    #[test]
    fn errors_for_unknown_methods_and_bad_cursors() {
        let o = offer(3, 2);
        let reply = handle(&o, &request("nope", json!({}))).unwrap();
        assert_eq!(reply["error"]["code"], -32601);
        let reply = handle(&o, &request("tools/list", json!({"cursor": "99"}))).unwrap();
        assert_eq!(reply["error"]["code"], -32602);
        assert!(handle(
            &o,
            &json!({"jsonrpc": "2.0", "method": "notifications/initialized"})
        )
        .is_none());
    }

    #[test]
    fn echo_returns_its_message() {
        let reply = handle(
            &offer(1, 0),
            &request(
                "tools/call",
                json!({"name": "echo", "arguments": {"message": "hi"}}),
            ),
        )
        .unwrap();
        assert_eq!(reply["result"]["content"][0]["text"], "hi");
    }
}
