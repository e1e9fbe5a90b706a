//! The default fallback parser plugin: a thin wrapper around `mcp_probe_plugin_core::parse`.

wit_bindgen::generate!({ world: "parser-plugin", path: "../../wit" });

include!("../../guest-shared/convert.rs");

use exports::mcp_probe::plugin::parser::{Guest, Transcript};

struct Parse;

impl Guest for Parse {
    fn parse(
        transcript: Transcript,
        config: Option<String>,
    ) -> Result<Option<Vec<wit::Tool>>, String> {
        let config = core_logic::ParseConfig::from_json_text(config.as_deref())?;
        let transcript = core_logic::Transcript {
            stdout: transcript.stdout,
            stderr_tail: transcript.stderr_tail,
            parsed_messages: transcript.parsed_messages,
            error: transcript.error,
        };
        let Some(found) = core_logic::parse(&transcript, &config) else {
            log_info("parse: no tool list found in the transcript");
            return Ok(None);
        };
        let message = format!(
            "parse: {} tool(s) in {} page(s) from {}",
            found.tools.len(),
            found.pages,
            found.origin
        );
        if found.complete {
            log_info(&message);
        } else {
            log_warn(&format!(
                "{message}; INCOMPLETE: the next page was not in the output"
            ));
        }
        Ok(Some(found.tools.into_iter().map(tool_to_wit).collect()))
    }
}

export!(Parse);
