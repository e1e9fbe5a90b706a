//! Discovery on top of a [`Session`]: opening it, every page of `tools/list`, and the
//! optional lists (prompts, resources, templates) the server's capabilities offer.

use super::era::Era;
use super::jsonrpc;
use super::session::{quoted_result_type, ServerHello, Session, SessionError};
use crate::model::{CacheHint, ListEntry, Member, Tool};
use serde_json::value::RawValue;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};

/// Everything one discovery found.
#[derive(Debug)]
pub struct Discovery {
    pub hello: ServerHello,
    /// False when the server lacks the tools capability (then `tools` is empty).
    pub tools_supported: bool,
    pub tools: Vec<Tool>,
    /// Entries of `tools` that were not JSON objects, dropped.
    pub malformed_tools: usize,
    /// Tools left out for invalid `x-mcp-header` annotations (modern era over HTTP): name, why.
    pub rejected_tools: Vec<(String, String)>,
    /// `None` when the server does not offer prompts (or listing them failed).
    pub prompts: Option<Vec<ListEntry>>,
    pub resources: Option<Vec<ListEntry>>,
    pub resource_templates: Option<Vec<ListEntry>>,
    /// Optional lists (prompts, resources) that failed; not fatal. Each error names its method.
    pub optional_failures: Vec<SessionError>,
    /// `ttlMs` / `cacheScope` per method, where the server sent them.
    pub cache_hints: BTreeMap<String, CacheHint>,
}

impl Session {
    /// The handshake, then every list the server offers.
    pub async fn discover(&mut self) -> Result<Discovery, SessionError> {
        let mut discovery = self.discover_tools().await?;
        self.list_optional(&mut discovery).await?;
        Ok(discovery)
    }

    /// Opening the session and `tools/list`: the part of discovery that must succeed.
    pub async fn discover_tools(&mut self) -> Result<Discovery, SessionError> {
        let hello = self.open().await?;
        // A server that announced no capabilities at all is broken, not tool-less: ask anyway,
        // and take a JSON-RPC error as "no tools".
        let unannounced = hello.capabilities.is_null();
        let mut tools_supported = hello.offers("tools");
        let (mut tools, mut malformed_tools) = (Vec::new(), 0);
        if tools_supported || unannounced {
            // Each entry becomes a tool while its page's text is at hand: no entry is copied
            // or held as a `Value` beyond its own conversion.
            let mut take = |entry: &RawValue| match Tool::from_entry(entry) {
                Some(tool) => tools.push(tool),
                None => malformed_tools += 1,
            };
            match self.list_all("tools/list", "tools", &mut take).await {
                Ok(()) => tools_supported = true,
                Err(SessionError::Rpc { .. }) if unannounced => {
                    (tools, malformed_tools) = (Vec::new(), 0);
                }
                Err(err) => return Err(err),
            }
        }
        let mut rejected_tools = Vec::new();
        if hello.era == Era::Modern
            && self.transport_kind() == crate::transport::TransportKind::StreamableHttp
        {
            tools.retain(|tool| {
                // A schema too deep to read carries no header annotation anyone could use.
                let schema = tool.parse_member(Member::InputSchema).ok().flatten();
                let problem = schema.as_ref().and_then(super::tool_headers::problem);
                match problem {
                    Some(why) => {
                        // Names and paths in it are the server's: one short line.
                        let why = crate::excerpt::one_line(&why);
                        let name = crate::excerpt::one_line(&format!("{:?}", tool.name));
                        tracing::warn!("left out tool {name}: {why}");
                        rejected_tools.push((tool.name.clone(), why));
                        false
                    }
                    None => true,
                }
            });
        }
        Ok(Discovery {
            hello,
            tools_supported,
            tools,
            malformed_tools,
            rejected_tools,
            prompts: None,
            resources: None,
            resource_templates: None,
            optional_failures: Vec::new(),
            cache_hints: self.cache_hints.clone(),
        })
    }

    /// Prompts, resources and resource templates, as far as the server offers them. Failures
    /// are recorded in `discovery`, not returned; after a timeout or a lost connection the rest
    /// is skipped. Each list is stored as soon as it is complete, so a caller that stops
    /// waiting (a deadline) keeps what was listed. Only a failure that
    /// [ends discovery](SessionError::ends_discovery) (a list declared not complete, the byte
    /// budget spent) is returned.
    pub async fn list_optional(&mut self, discovery: &mut Discovery) -> Result<(), SessionError> {
        let mut wanted = Vec::new();
        if discovery.hello.offers("prompts") {
            wanted.push(("prompts/list", "prompts"));
        }
        if discovery.hello.offers("resources") {
            wanted.push(("resources/list", "resources"));
            wanted.push(("resources/templates/list", "resourceTemplates"));
        }
        for (method, key) in wanted {
            // Each entry stays the text the server sent, as a tool's members do.
            let mut items = Vec::new();
            let mut take = |entry: &RawValue| items.push(ListEntry(entry.to_owned()));
            let listed = self.list_all(method, key, &mut take).await;
            let listed = listed.map(|()| items);
            discovery.cache_hints = self.cache_hints.clone();
            match listed {
                Ok(items) => match key {
                    "prompts" => discovery.prompts = Some(items),
                    "resources" => discovery.resources = Some(items),
                    _ => discovery.resource_templates = Some(items),
                },
                Err(err) if err.ends_discovery() => return Err(err),
                Err(err) => {
                    let give_up =
                        matches!(err, SessionError::Timeout { .. }) || err.is_transport_level();
                    discovery.optional_failures.push(err);
                    if give_up {
                        return Ok(());
                    }
                }
            }
        }
        Ok(())
    }

    /// Calls a paginated list method until the last page; `key` names the result's array,
    /// whose entries are given to `take` one by one, as text, page after page.
    pub async fn list_all(
        &mut self,
        method: &str,
        key: &str,
        take: &mut dyn FnMut(&RawValue),
    ) -> Result<(), SessionError> {
        let mut seen = HashSet::new();
        let mut cursor: Option<Value> = None;
        for _ in 0..self.options.page_cap {
            let params = cursor.take().map(|c| json!({ "cursor": c }));
            let result = self.request(method, params).await?;
            self.spend_list_bytes(method, result.get().len())?;
            let page = Page::read(&result, key);
            if let Some(sent) = incomplete_result_type(&page.hints) {
                return Err(SessionError::NotComplete {
                    method: method.into(),
                    sent,
                });
            }
            self.record_cache_hints(method, &page.hints);
            match page.entries {
                Some(entries) => entries.into_iter().for_each(&mut *take),
                None => {
                    return Err(SessionError::InvalidReply {
                        method: method.into(),
                        detail: format!("the reply has no `{key}` array"),
                    })
                }
            }
            match page.hints.get("nextCursor") {
                None | Some(Value::Null) => return Ok(()),
                Some(Value::String(s)) if s.is_empty() => return Ok(()),
                Some(next) => {
                    if !seen.insert(next.to_string()) {
                        return Err(SessionError::CursorLoop {
                            method: method.into(),
                            cursor: next.to_string(),
                        });
                    }
                    cursor = Some(next.clone());
                }
            }
        }
        Err(SessionError::PageCap {
            method: method.into(),
            cap: self.options.page_cap,
        })
    }
}

/// The members of a list page read besides its array.
const PAGE_HINTS: [&str; 4] = ["nextCursor", "resultType", "ttlMs", "cacheScope"];

/// One page of a list, read from the result's text: its entries borrowed from it, and the
/// few other members discovery reads (`nextCursor`, `resultType`, `ttlMs`, `cacheScope`) as a
/// small object. The page is never read whole into a `Value`.
struct Page<'a> {
    /// `None` when the result has no such array (or is not an object).
    entries: Option<Vec<&'a RawValue>>,
    hints: Value,
}

impl<'a> Page<'a> {
    fn read(result: &'a RawValue, key: &str) -> Page<'a> {
        // Of a repeated member the last counts, as in a parsed `Value`.
        let members: BTreeMap<String, &RawValue> =
            serde_json::from_str(result.get()).unwrap_or_default();
        let entries = members
            .get(key)
            .copied()
            .and_then(|list| serde_json::from_str::<Vec<&RawValue>>(list.get()).ok());
        let hints = PAGE_HINTS
            .iter()
            .filter_map(|&name| Some((name.to_owned(), jsonrpc::value_of(members.get(name)?))))
            .collect();
        Page {
            entries,
            hints: Value::Object(hints),
        }
    }
}

impl Session {
    /// Counts one page's result bytes against the whole discovery's budget.
    fn spend_list_bytes(&mut self, method: &str, bytes: usize) -> Result<(), SessionError> {
        self.list_bytes = self.list_bytes.saturating_add(bytes as u64);
        match self.list_bytes > self.options.max_discovery_bytes {
            true => Err(SessionError::DiscoveryBudget {
                method: method.into(),
                budget: self.options.max_discovery_bytes,
            }),
            false => Ok(()),
        }
    }

    /// Joins a result's `ttlMs` and `cacheScope` to what `method` sent before: the shortest
    /// TTL, the narrowest scope.
    pub(super) fn record_cache_hints(&mut self, method: &str, result: &Value) {
        let ttl_ms = result.get("ttlMs").and_then(Value::as_u64);
        let scope = result.get("cacheScope").and_then(Value::as_str);
        if ttl_ms.is_none() && scope.is_none() {
            return;
        }
        let hint = self.cache_hints.entry(method.to_owned()).or_default();
        hint.ttl_ms = match (hint.ttl_ms, ttl_ms) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if let Some(scope) = scope {
            if hint.cache_scope.as_deref() != Some("private") {
                hint.cache_scope = Some(scope.to_owned());
            }
        }
    }
}

/// A result's `resultType` (2026-07-28) when it does not say the result is complete: absent
/// (or `null`, which lenient readers take for absent) and `"complete"` do; anything else
/// (`"input_required"`, `"COMPLETE"`, `""`, `123`, `{}`) does not, and is returned quoted
/// as sent (see [`quoted_result_type`]).
pub(super) fn incomplete_result_type(result: &Value) -> Option<String> {
    match result.get("resultType") {
        None | Some(Value::Null) => None,
        Some(Value::String(t)) if t == "complete" => None,
        Some(other) => Some(quoted_result_type(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> Box<RawValue> {
        RawValue::from_string(text.to_owned()).unwrap()
    }

    #[test]
    fn a_page_keeps_its_entries_as_text_and_reads_the_hints() {
        let result = raw(
            r#"{"tools": [{"name": "a"}, 3, {"name": "b"} ], "nextCursor": "c2",
                "ttlMs": 500, "cacheScope": "private", "_meta": {"big": [1, 2, 3]}}"#,
        );
        let page = Page::read(&result, "tools");
        let entries: Vec<&str> = page.entries.unwrap().iter().map(|e| e.get()).collect();
        assert_eq!(entries, [r#"{"name": "a"}"#, "3", r#"{"name": "b"}"#]);
        assert_eq!(
            page.hints,
            json!({"nextCursor": "c2", "ttlMs": 500, "cacheScope": "private"})
        );
    }

    #[test]
    fn a_page_without_its_array_has_no_entries() {
        for text in [
            r#"{"tools": null}"#,
            r#"{"tools": {"a": 1}}"#,
            r#"{"prompts": []}"#,
            r#"[]"#,
            r#""tools""#,
        ] {
            assert!(Page::read(&raw(text), "tools").entries.is_none(), "{text}");
        }
        // Of a repeated member the last counts, as in a `Value`.
        let repeated = raw(r#"{"tools": 1, "tools": [], "nextCursor": null}"#);
        let page = Page::read(&repeated, "tools");
        assert_eq!(page.entries.map(|e| e.len()), Some(0));
        assert_eq!(page.hints, json!({"nextCursor": null}));
    }

    #[test]
    fn only_complete_or_absent_result_types_are_complete() {
        for complete in [
            json!({}),
            json!({"resultType": "complete"}),
            json!({"resultType": null}),
        ] {
            assert_eq!(incomplete_result_type(&complete), None, "{complete}");
        }
        for (sent, quoted) in [
            (json!("input_required"), r#""input_required""#),
            (json!("COMPLETE"), r#""COMPLETE""#),
            (json!(""), r#""""#),
            (json!(123), "123"),
            (json!({}), "{}"),
            (json!(["complete"]), r#"["complete"]"#),
            (json!("a\nb\u{1b}"), r#""a\nb\u001b""#),
        ] {
            let result = json!({"resultType": sent, "tools": []});
            assert_eq!(incomplete_result_type(&result).as_deref(), Some(quoted));
        }
        // A huge one is cut to 200 characters (and says so).
        let huge = json!({"resultType": "é".repeat(10_000)});
        let quoted = incomplete_result_type(&huge).unwrap();
        assert_eq!(quoted.chars().count(), 201);
        assert!(quoted.starts_with("\"é") && quoted.ends_with('…'));
    }

    #[test]
    fn the_errors_name_the_list_and_what_was_sent() {
        let not_complete = SessionError::NotComplete {
            method: "prompts/list".into(),
            sent: "{}".into(),
        };
        assert_eq!(
            not_complete.to_string(),
            r#"prompts/list: the server sent resultType {}, where only "complete" (or none) says the result is complete"#
        );
        let budget = SessionError::DiscoveryBudget {
            method: "tools/list".into(),
            budget: 64 << 20,
        };
        let text = budget.to_string();
        assert!(
            text.starts_with(
                "tools/list: the lists passed the discovery budget of 64 MiB \
                 (--max-discovery-bytes 67108864)"
            ),
            "{text}"
        );
        let odd = SessionError::DiscoveryBudget {
            method: "resources/list".into(),
            budget: 1000,
        };
        assert!(odd.to_string().contains("budget of 1000 bytes"));
        for err in [&not_complete, &budget] {
            assert!(err.is_definite_answer() && err.ends_discovery());
        }
    }

    #[test]
    fn only_objects_become_tools() {
        let tool = Tool::from_entry(&raw(
            r#"{"name": "echo", "inputSchema": {"type": "object"}}"#,
        ));
        assert_eq!(tool.map(|t| t.name), Some("echo".to_owned()));
        for text in ["3", "null", r#""echo""#, r#"[{"name": "x"}]"#] {
            assert!(Tool::from_entry(&raw(text)).is_none(), "{text}");
        }
    }
}
