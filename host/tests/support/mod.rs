//! Builds test components at test time, without a wasm toolchain: core modules written in
//! WAT with the canonical-ABI export signatures, wrapped into components by wit-component
//! against the real WIT contract.
#![allow(dead_code)]

use std::fmt::Write;
use wit_component::{ComponentEncoder, StringEncoding};
use wit_parser::Resolve;

pub const WIT: &str = include_str!("../../../wit/plugin.wit");

/// Static data lives below 1024; the bump allocator's heap starts there.
/// The return area is at 8 (size ≤ 24); strings at 256; records at 512.
pub const RET: u32 = 8;

/// The core function type of each world's export, and its export name.
fn export_of(interface: &str, version: &str) -> (String, usize) {
    let params = match interface {
        "normalizer" => 12, // list(2) + context(2+2+3+3)
        "validator" => 14,  // list(2) + policy(2) + context(10)
        "parser" => 11,     // transcript(2+2+2+2) + option<string>(3)
        other => panic!("unknown interface {other}"),
    };
    let name = format!(
        "mcp-probe:plugin/{interface}@{version}#{}",
        match interface {
            "normalizer" => "normalize",
            "validator" => "validate",
            _ => "parse",
        }
    );
    (name, params)
}

/// A guest: `body` is the export's body and must leave the i32 return-area pointer.
pub struct Guest {
    pub interface: &'static str,
    pub body: String,
    pub funcs: String,
    pub data: Vec<(u32, Vec<u8>)>,
    pub log_import: bool,
}

impl Guest {
    pub fn new(interface: &'static str, body: &str) -> Guest {
        Guest {
            interface,
            body: body.to_string(),
            funcs: String::new(),
            data: Vec::new(),
            log_import: false,
        }
    }
    pub fn funcs(mut self, funcs: &str) -> Self {
        self.funcs = funcs.to_string();
        self
    }
    pub fn data(mut self, offset: u32, bytes: &[u8]) -> Self {
        self.data.push((offset, bytes.to_vec()));
        self
    }
    pub fn with_log(mut self) -> Self {
        self.log_import = true;
        self
    }

    pub fn wat(&self, version: &str) -> String {
        let (export, params) = export_of(self.interface, version);
        let mut wat = String::from("(module\n");
        if self.log_import {
            writeln!(
                wat,
                "(import \"mcp-probe:plugin/log@{version}\" \"log\" (func $log (param i32 i32 i32)))"
            )
            .unwrap();
        }
        wat.push_str(
            r#"(memory (export "memory") 1)
(global $heap (mut i32) (i32.const 1024))
(func $realloc (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
  (local $ptr i32)
  (local.set $ptr (i32.and
    (i32.add (global.get $heap) (i32.sub (local.get 2) (i32.const 1)))
    (i32.sub (i32.const 0) (local.get 2))))
  (global.set $heap (i32.add (local.get $ptr) (local.get 3)))
  (block $ok (loop $grow
    (br_if $ok (i32.le_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536))))
    (if (i32.eq (memory.grow (i32.const 1)) (i32.const -1)) (then unreachable))
    (br $grow)))
  (local.get $ptr))
"#,
        );
        for (offset, bytes) in &self.data {
            writeln!(wat, "(data (i32.const {offset}) \"{}\")", escape(bytes)).unwrap();
        }
        wat.push_str(&self.funcs);
        write!(wat, "\n(func (export \"{export}\") (param").unwrap();
        for _ in 0..params {
            wat.push_str(" i32");
        }
        write!(wat, ") (result i32)\n{}\n))", self.body).unwrap();
        wat
    }

    /// The component, built against the real contract.
    pub fn component(&self) -> Vec<u8> {
        component_from_wat(
            WIT,
            &format!("{}-plugin", self.interface),
            &self.wat("0.1.0"),
        )
    }

    /// The component, built against the contract re-versioned as `version`.
    pub fn component_at_version(&self, version: &str) -> Vec<u8> {
        let wit = WIT.replace(
            "mcp-probe:plugin@0.1.0",
            &format!("mcp-probe:plugin@{version}"),
        );
        component_from_wat(
            &wit,
            &format!("{}-plugin", self.interface),
            &self.wat(version),
        )
    }
}

fn escape(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("\\{b:02x}")).collect()
}

/// Embeds the world's type information in a core module and encodes the component.
pub fn component_from_wat(wit: &str, world: &str, wat: &str) -> Vec<u8> {
    let mut resolve = Resolve::default();
    let package = resolve.push_str("plugin.wit", wit).expect("WIT parses");
    let world = resolve
        .select_world(&[package], Some(world))
        .expect("world");
    let mut module = wat::parse_str(wat).unwrap_or_else(|e| panic!("{e}\n{wat}"));
    wit_component::embed_component_metadata(&mut module, &resolve, world, StringEncoding::UTF8)
        .expect("embed metadata");
    ComponentEncoder::default()
        .module(&module)
        .expect("module")
        .validate(true)
        .encode()
        .expect("encode component")
}

/// Little-endian i32s, for building records in data segments.
pub fn words(values: &[u32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Stores `value` at `addr` (WAT snippet).
pub fn store(addr: u32, value: &str) -> String {
    format!("(i32.store (i32.const {addr}) {value})\n")
}

/// A normalizer that returns its input unchanged with no findings.
pub fn echo_normalizer() -> Guest {
    let body = format!(
        "(i32.store8 (i32.const {RET}) (i32.const 0))\n{}{}{}{}(i32.const {RET})",
        store(RET + 4, "(local.get 0)"),
        store(RET + 8, "(local.get 1)"),
        store(RET + 12, "(i32.const 0)"),
        store(RET + 16, "(i32.const 0)"),
    );
    Guest::new("normalizer", &body)
}

/// A normalizer whose body runs `prelude` first and then echoes.
pub fn normalizer_doing(prelude: &str) -> Guest {
    let mut g = echo_normalizer();
    g.body = format!("{prelude}\n{}", g.body);
    g
}

/// A normalizer that returns `err(message)`.
pub fn failing_normalizer(message: &str) -> Guest {
    let body = format!(
        "(i32.store8 (i32.const {RET}) (i32.const 1))\n{}{}(i32.const {RET})",
        store(RET + 4, "(i32.const 256)"),
        store(RET + 8, &format!("(i32.const {})", message.len())),
    );
    Guest::new("normalizer", &body).data(256, message.as_bytes())
}

/// A normalizer that returns one tool named `bad` whose input-schema is `schema_text`.
pub fn normalizer_returning_schema(schema_text: &str) -> Guest {
    // tool record (104 bytes): name(ptr,len), then 8 × option<string> (disc, ptr, len).
    let mut record = words(&[256, 3]);
    for field in 0..8 {
        if field == 2 {
            record.extend(words(&[1, 300, schema_text.len() as u32]));
        } else {
            record.extend(words(&[0, 0, 0]));
        }
    }
    let body = format!(
        "(i32.store8 (i32.const {RET}) (i32.const 0))\n{}{}{}{}(i32.const {RET})",
        store(RET + 4, "(i32.const 512)"),
        store(RET + 8, "(i32.const 1)"),
        store(RET + 12, "(i32.const 0)"),
        store(RET + 16, "(i32.const 0)"),
    );
    Guest::new("normalizer", &body)
        .data(256, b"bad")
        .data(300, schema_text.as_bytes())
        .data(512, &record)
}

/// A validator that returns one error finding `rule` about the whole list, after logging.
pub fn validator_with_finding(rule: &str, message: &str) -> Guest {
    // finding (32 bytes): tool option<string>, rule string, severity u8 (+pad), message.
    let record = words(&[
        0,
        0,
        0,
        256,
        rule.len() as u32,
        2, // severity::error
        400,
        message.len() as u32,
    ]);
    let body = format!(
        "(call $log (i32.const 2) (i32.const 256) (i32.const {}))\n\
         (i32.store8 (i32.const {RET}) (i32.const 0))\n{}{}(i32.const {RET})",
        rule.len(),
        store(RET + 4, "(i32.const 512)"),
        store(RET + 8, "(i32.const 1)"),
    );
    Guest::new("validator", &body)
        .with_log()
        .data(256, rule.as_bytes())
        .data(400, message.as_bytes())
        .data(512, &record)
}

/// A parser that returns `some([])` when `found`, else `none`.
pub fn parser_returning(found: bool) -> Guest {
    let body = format!(
        "(i32.store8 (i32.const {RET}) (i32.const 0))\n\
         (i32.store8 (i32.const {}) (i32.const {}))\n{}{}(i32.const {RET})",
        RET + 4,
        found as u8,
        store(RET + 8, "(i32.const 0)"),
        store(RET + 12, "(i32.const 0)"),
    );
    Guest::new("parser", &body)
}

/// A component that imports `name` (an instance) and exports nothing.
pub fn component_importing(name: &str) -> Vec<u8> {
    wat::parse_str(format!("(component (import \"{name}\" (instance)))")).expect("component wat")
}
