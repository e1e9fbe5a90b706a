//! What the server offers: tools (a fixed realistic set, then generated ones), prompts, resources.

use serde_json::{json, Value};

/// The hand-written tools served first; `--tools N` beyond this adds generated lookup tools.
fn realistic_tools() -> Vec<Value> {
    vec![
        json!({
            "name": "echo",
            "title": "Echo",
            "description": "Returns the message it is given, unchanged.",
            "inputSchema": {
                "type": "object",
                "properties": {"message": {"type": "string", "description": "Text to send back"}},
                "required": ["message"]
            },
            "annotations": {"readOnlyHint": true, "openWorldHint": false}
        }),
        json!({
            "name": "get_weather",
            "title": "Current weather",
            "description": "Current temperature and conditions for a city.",
            "inputSchema": {
                "type": "object",
                "properties": {
                    "city": {"type": "string", "description": "City name, e.g. Lisbon"},
                    "units": {"type": "string", "enum": ["metric", "imperial"], "default": "metric"}
                },
                "required": ["city"]
            },
            "outputSchema": {
                "type": "object",
                "properties": {
                    "temperature": {"type": "number"},
                    "conditions": {"type": "string"}
                },
                "required": ["temperature", "conditions"]
            },
            "annotations": {"readOnlyHint": true, "openWorldHint": true}
        }),
        json!({
            "name": "search_files",
            "description": "Finds files under a directory whose names match a glob pattern.",
            "inputSchema": {
                "type": "object",
                "properties": {
                    "root": {"type": "string", "description": "Directory to search"},
                    "pattern": {"type": "string", "description": "Glob, e.g. **/*.rs"},
                    "max_results": {"type": "integer", "minimum": 1, "maximum": 1000}
                },
                "required": ["root", "pattern"]
            }
        }),
        json!({
            "name": "create_issue",
            "title": "Create issue",
            "description": "Opens an issue in the tracker and returns its number.",
            "inputSchema": {
                "type": "object",
                "properties": {
                    "title": {"type": "string"},
                    "body": {"type": "string"},
                    "labels": {"type": "array", "items": {"type": "string"}}
                },
                "required": ["title"]
            },
            "outputSchema": {
                "type": "object",
                "properties": {"number": {"type": "integer"}, "url": {"type": "string"}},
                "required": ["number"]
            },
            "annotations": {"readOnlyHint": false, "destructiveHint": false, "idempotentHint": false}
        }),
        json!({
            "name": "delete_branch",
            "description": "Deletes a git branch from the remote repository.",
            "inputSchema": {
                "type": "object",
                "properties": {"branch": {"type": "string"}, "force": {"type": "boolean"}},
                "required": ["branch"]
            },
            "annotations": {"destructiveHint": true, "idempotentHint": true}
        }),
        json!({
            "name": "run_sql_query",
            "description": "Runs a read-only SQL query against the reporting database.",
            "inputSchema": {
                "type": "object",
                "properties": {
                    "query": {"type": "string"},
                    "timeout_ms": {"type": "integer", "default": 5000}
                },
                "required": ["query"]
            },
            "annotations": {"readOnlyHint": true}
        }),
        json!({
            "name": "translate_text",
            "description": "Translates text into the target language.",
            "inputSchema": {
                "type": "object",
                "properties": {
                    "text": {"type": "string"},
                    "target_language": {"type": "string", "description": "ISO 639-1 code"}
                },
                "required": ["text", "target_language"]
            }
        }),
    ]
}

/// `count` tools: the realistic ones first, then `lookup_record_NNN` tools.
pub fn tools(count: usize) -> Vec<Value> {
    let mut tools = realistic_tools();
    tools.truncate(count);
    for index in tools.len()..count {
        tools.push(json!({
            "name": format!("lookup_record_{index:03}"),
            "description": format!("Fetches record {index} of the inventory by its key."),
            "inputSchema": {
                "type": "object",
                "properties": {"key": {"type": "string"}},
                "required": ["key"]
            }
        }));
    }
    tools
}

/// `count` prompts: the realistic ones first, then small generated `prompt_N` ones.
pub fn prompts(count: usize) -> Vec<Value> {
    let mut prompts = realistic_prompts();
    prompts.truncate(count);
    for index in prompts.len()..count {
        prompts.push(json!({"name": format!("prompt_{index}")}));
    }
    prompts
}

/// `count` resources: the realistic one first, then generated records.
pub fn resources(count: usize) -> Vec<Value> {
    let mut resources = realistic_resources();
    resources.truncate(count);
    for index in resources.len()..count {
        resources.push(json!({"uri": format!("inventory://records/{index}"), "name": format!("record_{index}")}));
    }
    resources
}

fn realistic_prompts() -> Vec<Value> {
    vec![
        json!({
            "name": "summarize",
            "description": "Summarize a document in a few sentences.",
            "arguments": [{"name": "text", "required": true}]
        }),
        json!({"name": "code_review", "description": "Review a diff for bugs."}),
    ]
}

fn realistic_resources() -> Vec<Value> {
    vec![json!({
        "uri": "file:///etc/example/readme.txt",
        "name": "readme",
        "mimeType": "text/plain"
    })]
}

pub fn resource_templates() -> Vec<Value> {
    vec![json!({
        "uriTemplate": "inventory://records/{key}",
        "name": "record",
        "mimeType": "application/json"
    })]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tools_have_unique_names_and_the_asked_count() {
        for count in [0, 1, 5, 7, 120] {
            let tools = tools(count);
            assert_eq!(tools.len(), count);
            let mut names: Vec<_> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
            names.sort();
            names.dedup();
            assert_eq!(names.len(), count);
        }
    }

    #[test]
    fn prompts_and_resources_have_the_asked_count() {
        for count in [0, 1, 2, 3, 50] {
            assert_eq!(prompts(count).len(), count);
            assert_eq!(resources(count).len(), count);
        }
        assert_eq!(prompts(3)[2]["name"], "prompt_2");
        assert_eq!(resources(2)[1]["uri"], "inventory://records/1");
    }
}
