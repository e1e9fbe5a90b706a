//! `mcp-probe schema NAME`: the JSON Schema (draft 2020-12) of a document mcp-probe writes or
//! reads, generated from the types that write or read it.

use super::exit;
use anyhow::Result;
use mcp_probe::scan::catalog_schema::CatalogFile;
use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema};

#[derive(Debug, clap::Args)]
pub struct SchemaArgs {
    #[arg(value_enum)]
    pub document: Document,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Document {
    /// What `discover` prints (also each scan line's `report`).
    Result,
    /// What `validate -o json` prints.
    Validation,
    /// A validator policy (`--policy`).
    Policy,
    /// A scan catalog.
    Catalog,
    /// A pipeline file (`--pipeline`).
    Pipeline,
    /// A lock file (`mcp-probe lock`, `--lock`, `scan --write-locks`).
    Lock,
}

pub fn run(args: SchemaArgs) -> Result<u8> {
    use mcp_probe::{lockfile, plugins, report};
    let (mut schema, title) = match args.document {
        Document::Result => (written::<report::Report>(), "mcp-probe discover result"),
        Document::Validation => (
            written::<plugins::pipeline::Processed>(),
            "mcp-probe validate result",
        ),
        Document::Policy => (
            read::<mcp_probe_plugin_core::policy::PolicyFile>(),
            "mcp-probe validator policy",
        ),
        Document::Catalog => (read::<CatalogFile>(), "mcp-probe scan catalog"),
        Document::Pipeline => (
            read::<plugins::config::PipelineFile>(),
            "mcp-probe pipeline file",
        ),
        Document::Lock => (read::<lockfile::LockFile>(), "mcp-probe lock file"),
    };
    // The root type's doc comment is written for this code's readers; the title says it all.
    schema.remove("description");
    schema.insert("title".into(), title.into());
    super::write_stdout(&(serde_json::to_string_pretty(&schema)? + "\n"))?;
    Ok(exit::OK)
}

/// The schema of what mcp-probe writes as `T`.
fn written<T: JsonSchema>() -> Schema {
    SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator()
        .into_root_schema_for::<T>()
}

/// The schema of what mcp-probe accepts as `T`.
fn read<T: JsonSchema>() -> Schema {
    SchemaSettings::draft2020_12()
        .for_deserialize()
        .into_generator()
        .into_root_schema_for::<T>()
}
