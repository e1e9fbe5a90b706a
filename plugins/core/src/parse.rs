//! The fallback parser: recovers a tool list from the transcript of a session that failed.
//!
//! It collects every JSON value in the output (see `scan`), classifies them as `tools/list`
//! requests, JSON-RPC result pages, or bare tool lists printed in logs, joins pages along their
//! `nextCursor` chain, and picks the last complete listing.

use crate::scan::json_values;
use crate::Tool;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// What a failed session leaves behind (the WIT `transcript`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Transcript {
    pub stdout: String,
    pub stderr_tail: String,
    /// JSON text of each message the host's own reader did parse, in order.
    pub parsed_messages: Vec<String>,
    pub error: String,
}

/// The parser stage's `config`. Unknown keys are refused.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ParseConfig {
    /// Look in the stderr tail too when stdout has no tool list (servers often log there).
    pub scan_stderr: bool,
    /// Return an incomplete listing (a page whose `nextCursor` leads nowhere visible) when
    /// no complete one exists.
    pub accept_partial: bool,
}

impl Default for ParseConfig {
    fn default() -> Self {
        ParseConfig {
            scan_stderr: true,
            accept_partial: true,
        }
    }
}

impl ParseConfig {
    /// Reads the config JSON text; absent, empty or `{}` means the defaults.
    pub fn from_json_text(text: Option<&str>) -> Result<Self, String> {
        match text.map(str::trim) {
            None | Some("") => Ok(Self::default()),
            Some(text) => serde_json::from_str(text).map_err(|e| format!("parse config: {e}")),
        }
    }
}

/// A recovered tool list and how it was found.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    pub tools: Vec<Tool>,
    /// How many result pages were joined.
    pub pages: usize,
    /// False when the chain of pages is broken (a `nextCursor` with no visible next page).
    pub complete: bool,
    /// Where it was found, for logs: e.g. `stdout: JSON-RPC tools/list result`.
    pub origin: String,
}

/// The last complete tool listing in the transcript; `None` when there is none.
pub fn parse(transcript: &Transcript, config: &ParseConfig) -> Option<Parsed> {
    let stdout_values = json_values(&transcript.stdout);
    let mut values: Vec<Value> = Vec::new();
    // The host's parsed messages usually repeat part of stdout; keep only the others, first.
    for text in &transcript.parsed_messages {
        let parsed = match serde_json::from_str::<Value>(text) {
            Ok(value) => vec![value],
            Err(_) => json_values(text),
        };
        values.extend(parsed.into_iter().filter(|v| !stdout_values.contains(v)));
    }
    values.extend(stdout_values);
    if let Some(found) = pick(&values, config, "stdout") {
        return Some(found);
    }
    if config.scan_stderr {
        return pick(&json_values(&transcript.stderr_tail), config, "stderr");
    }
    None
}

/// One thing found in the output.
enum Event {
    Request { id: String, cursor: Option<String> },
    Page(Page),
}

struct Page {
    /// `Some` for JSON-RPC results (the canonical text of the id).
    id: Option<String>,
    tools: Vec<Value>,
    next_cursor: Option<String>,
}

#[derive(Default)]
struct Listing {
    pages: Vec<Page>,
    /// False when the first visible page was requested with a cursor.
    starts_at_beginning: bool,
}

impl Listing {
    fn awaits_more(&self) -> bool {
        self.pages.last().is_some_and(|p| p.next_cursor.is_some())
    }
    fn complete(&self) -> bool {
        self.starts_at_beginning && !self.awaits_more()
    }
}

fn pick(values: &[Value], config: &ParseConfig, stream: &str) -> Option<Parsed> {
    let mut events = Vec::new();
    for value in values {
        classify(value, 0, &mut events);
    }
    let mut requests: HashMap<String, Option<String>> = HashMap::new();
    let mut rpc: Vec<Listing> = Vec::new();
    let mut bare: Vec<Listing> = Vec::new();
    for event in events {
        match event {
            Event::Request { id, cursor } => {
                requests.insert(id, cursor);
            }
            Event::Page(page) => {
                let known = page.id.as_ref().and_then(|id| requests.get(id)).cloned();
                let listings = if page.id.is_some() {
                    &mut rpc
                } else {
                    &mut bare
                };
                join(listings, page, known);
            }
        }
    }
    let choice = [
        (&rpc, true, "JSON-RPC tools/list result"),
        (&bare, true, "tool list printed in the output"),
    ]
    .into_iter()
    .chain([
        (&rpc, false, "JSON-RPC tools/list result"),
        (&bare, false, "tool list printed in the output"),
    ])
    .filter(|(_, complete, _)| *complete || config.accept_partial)
    .find_map(|(listings, complete, what)| {
        let found = listings.iter().rev().find(|l| !complete || l.complete())?;
        Some((found, what))
    });
    let (listing, what) = choice?;
    let tools = listing
        .pages
        .iter()
        .flat_map(|p| p.tools.iter().cloned())
        .filter_map(Tool::from_json)
        .collect();
    Some(Parsed {
        tools,
        pages: listing.pages.len(),
        complete: listing.complete(),
        origin: format!("{stream}: {what}"),
    })
}

/// Adds a page to the listing its cursor continues, or starts a new listing.
/// `requested_with`: `Some(cursor)` when the request for this page was seen.
fn join(listings: &mut Vec<Listing>, page: Page, requested_with: Option<Option<String>>) {
    let target = match &requested_with {
        Some(None) => None,
        Some(Some(cursor)) => listings
            .iter()
            .rposition(|l| l.pages.last().and_then(|p| p.next_cursor.as_ref()) == Some(cursor)),
        None => listings
            .len()
            .checked_sub(1)
            .filter(|i| listings[*i].awaits_more()),
    };
    match target {
        Some(i) => {
            let listing = &mut listings[i];
            let last = listing.pages.last().expect("a listing has pages");
            // The same page seen twice (a retry, or echoed in a log): keep one copy.
            if last.tools == page.tools && last.next_cursor == page.next_cursor {
                return;
            }
            listing.pages.push(page);
        }
        None => listings.push(Listing {
            starts_at_beginning: !matches!(requested_with, Some(Some(_))),
            pages: vec![page],
        }),
    }
}

/// Depth bound for looking inside log records and JSON embedded in strings.
const MAX_DEPTH: usize = 6;

fn classify(value: &Value, depth: usize, events: &mut Vec<Event>) {
    if depth > MAX_DEPTH {
        return;
    }
    match value {
        Value::Object(obj) => {
            if let Some(event) = rpc_event(obj).or_else(|| bare_tools_object(obj)) {
                events.push(event);
                return;
            }
            for member in obj.values() {
                classify(member, depth + 1, events);
            }
        }
        Value::Array(items) => {
            if looks_like_tool_array(items) {
                events.push(Event::Page(Page {
                    id: None,
                    tools: items.clone(),
                    next_cursor: None,
                }));
                return;
            }
            for item in items {
                classify(item, depth + 1, events);
            }
        }
        // Structured loggers print messages as JSON inside a JSON string.
        Value::String(s) if s.trim_start().starts_with(['{', '[']) => {
            for inner in json_values(s) {
                classify(&inner, depth + 1, events);
            }
        }
        _ => {}
    }
}

fn rpc_event(obj: &Map<String, Value>) -> Option<Event> {
    let id = obj
        .get("id")
        .filter(|id| id.is_string() || id.is_number())?
        .to_string();
    if obj.get("method").and_then(Value::as_str) == Some("tools/list") {
        let cursor = obj
            .get("params")
            .and_then(|p| p.get("cursor"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        return Some(Event::Request { id, cursor });
    }
    let result = obj.get("result")?.as_object()?;
    let tools = tools_member(result)?;
    Some(Event::Page(Page {
        id: Some(id),
        tools,
        next_cursor: next_cursor(result),
    }))
}

fn bare_tools_object(obj: &Map<String, Value>) -> Option<Event> {
    if obj.contains_key("jsonrpc") {
        return None;
    }
    let tools = tools_member(obj)?;
    Some(Event::Page(Page {
        id: None,
        tools,
        next_cursor: next_cursor(obj),
    }))
}

/// `tools` when it is an array of objects at least one of which has a string name
/// (or an empty array: a server with no tools).
fn tools_member(obj: &Map<String, Value>) -> Option<Vec<Value>> {
    let items = obj.get("tools")?.as_array()?;
    let plausible = items.iter().all(Value::is_object)
        && (items.is_empty()
            || items
                .iter()
                .any(|t| t.get("name").is_some_and(Value::is_string)));
    plausible.then(|| items.clone())
}

/// A bare array printed in a log counts only when every entry is a named object and some
/// entry carries a schema or description, so that unrelated arrays of names are not taken.
fn looks_like_tool_array(items: &[Value]) -> bool {
    !items.is_empty()
        && items
            .iter()
            .all(|t| t.get("name").is_some_and(Value::is_string))
        && items
            .iter()
            .any(|t| t.get("inputSchema").is_some() || t.get("description").is_some())
}

fn next_cursor(obj: &Map<String, Value>) -> Option<String> {
    obj.get("nextCursor")
        .and_then(Value::as_str)
        .map(str::to_owned)
}
