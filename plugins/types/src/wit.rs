//! The one conversion each way between these types and the WIT records.
//!
//! Every crate with generated bindings (the host's wasmtime `bindgen!`, each guest's
//! wit-bindgen) has its own Rust types for the records of `wit/plugin.wit`, so the conversion
//! cannot be a function here; it is this macro, expanded in each of those crates.

/// Expands to `tool_to_wit`, `tool_text_parts`, `finding_to_wit` and `finding_from_wit` for a
/// bindings module `$wit` in scope that holds the generated `Tool`, `Finding` and `Severity`.
/// A tool's JSON text moves between the forms uncopied; reading a record back is
/// [`Tool::from_text_parts`](crate::Tool::from_text_parts) (checked) or
/// [`Tool::from_host_text_parts`](crate::Tool::from_host_text_parts) (in a guest) on its
/// `tool_text_parts`.
#[macro_export]
macro_rules! wit_conversions {
    ($vis:vis $wit:ident) => {
        /// A tool as the WIT record; its JSON text moves over uncopied.
        #[allow(dead_code)]
        $vis fn tool_to_wit(tool: $crate::Tool) -> $wit::Tool {
            let parts = tool.into_text_parts();
            let [input_schema, output_schema, annotations, meta, icons] = parts.members;
            $wit::Tool {
                name: parts.name,
                title: parts.title,
                description: parts.description,
                input_schema,
                output_schema,
                annotations,
                meta,
                icons,
                extra: parts.extra,
            }
        }

        /// The WIT record's fields, to be read back into a tool (checked or trusted).
        #[allow(dead_code)]
        $vis fn tool_text_parts(tool: $wit::Tool) -> $crate::TextParts {
            $crate::TextParts {
                name: tool.name,
                title: tool.title,
                description: tool.description,
                members: [
                    tool.input_schema,
                    tool.output_schema,
                    tool.annotations,
                    tool.meta,
                    tool.icons,
                ],
                extra: tool.extra,
            }
        }

        #[allow(dead_code)]
        $vis fn finding_to_wit(finding: $crate::Finding) -> $wit::Finding {
            $wit::Finding {
                tool: finding.tool,
                rule: finding.rule,
                severity: match finding.severity {
                    $crate::Severity::Info => $wit::Severity::Info,
                    $crate::Severity::Warning => $wit::Severity::Warning,
                    $crate::Severity::Error => $wit::Severity::Error,
                },
                message: finding.message,
            }
        }

        /// A plugin's finding, attributed to it.
        #[allow(dead_code)]
        $vis fn finding_from_wit(finding: $wit::Finding, source: &str) -> $crate::Finding {
            $crate::Finding {
                tool: finding.tool,
                rule: finding.rule,
                severity: match finding.severity {
                    $wit::Severity::Info => $crate::Severity::Info,
                    $wit::Severity::Warning => $crate::Severity::Warning,
                    $wit::Severity::Error => $crate::Severity::Error,
                },
                message: finding.message,
                source: source.to_owned(),
            }
        }
    };
}
