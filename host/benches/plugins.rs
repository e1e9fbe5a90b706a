//! Plugin host benchmark (`cargo bench -p mcp-probe --bench plugins`). Prints ratios against
//! baselines measured in the same run:
//! 1. 10 000 realistic tools through normalize + validate: the built-in WASM plugins vs the
//!    same logic (plugins/core) compiled natively. Target: WASM ≤ 2× native.
//! 2. A warm call of one plugin on 50 tools (fresh store + instantiate + call). Target ≤ 100 µs.
//! 3. Loading the three built-ins with the compiled-artifact cache vs compiling them.
//!    Target ≤ 10 ms per cached plugin.

use mcp_probe::model::Tool;
use mcp_probe::plugins::bindings::Context;
use mcp_probe::plugins::convert;
use mcp_probe::plugins::{builtin, ArtifactCache, Limits, LoadedPlugin, Pipeline, PipelineConfig};
use mcp_probe_plugin_core as core;
use serde_json::json;
use std::hint::black_box;
use std::time::{Duration, Instant};

fn realistic_tools(n: usize) -> Vec<Tool> {
    (0..n)
        .map(|i| {
            Tool::from_json(json!({
                "name": format!("orders_tool_{i}"),
                "title": format!("Orders tool {i}"),
                "description": format!("  Looks up orders for customer accounts, filtered by status and date range; returns at most `limit` rows (call {i}).  "),
                "inputSchema": {
                    "type": "object",
                    "properties": {
                        "customer_id": {"type": "string", "description": "The customer's id"},
                        "status": {"type": "string", "enum": ["open", "shipped", "cancelled"]},
                        "since": {"type": "string", "format": "date-time"},
                        "limit": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}
                    },
                    "required": ["customer_id"]
                },
                "annotations": {"readOnlyHint": i % 3 != 0, "destructiveHint": false, "title": "Orders"},
                "_meta": {"team": "commerce"}
            }))
            .unwrap()
        })
        .collect()
}

fn ctx() -> Context {
    Context {
        source: "bench".into(),
        discovery_method: "file".into(),
        server_info: None,
        config: None,
    }
}

/// Best of `rounds` runs of `f` (the least disturbed by the other work on the machine).
fn best_of<T>(rounds: usize, mut f: impl FnMut() -> T) -> Duration {
    (0..rounds)
        .map(|_| {
            let started = Instant::now();
            black_box(f());
            started.elapsed()
        })
        .min()
        .unwrap()
}

fn load_builtin(
    b: builtin::Builtin,
    cache: Option<&ArtifactCache>,
    limits: Limits,
) -> LoadedPlugin {
    LoadedPlugin::load(&format!("builtin:{}", b.name), b.bytes, limits, cache).unwrap()
}

fn main() {
    let cache_dir = tempfile::tempdir().unwrap();
    let cache = ArtifactCache::open(cache_dir.path().join("cache")).unwrap();
    let big = Limits {
        timeout: Duration::from_secs(30),
        memory_bytes: 1 << 30,
    };
    let normalize = load_builtin(builtin::NORMALIZE, Some(&cache), big);
    let validate = load_builtin(builtin::VALIDATE, Some(&cache), big);

    // 1. Throughput on 10 000 tools.
    let tools = realistic_tools(10_000);
    // As Pipeline::process runs them: model tools -> WIT records once, both stages on the
    // records, records -> model tools once (the host's schema check is left out).
    let wasm = best_of(5, || {
        let input: Vec<_> = tools.iter().map(convert::tool_to_wit).collect();
        let (normalized, mut findings) = normalize.normalize_wit(&input, &ctx()).unwrap();
        findings.extend(validate.validate_wit(&normalized, "{}", &ctx()).unwrap());
        let back = convert::tools_from_wit(normalized).unwrap();
        findings.len() + back.len()
    });
    let config = core::NormalizeConfig::from_json_text(None).unwrap();
    let policy = core::Policy::default();
    let native = best_of(5, || {
        // The host holds model tools; the native path converts them as a host would.
        let input: Vec<core::Tool> = tools
            .iter()
            .map(|t| core::Tool::from_json(t.to_json()).unwrap())
            .collect();
        let normalized = core::normalize(input, &config);
        let findings = core::validate(&normalized.tools, &policy);
        findings.len() + normalized.findings.len()
    });
    let native_logic_only = {
        let input: Vec<core::Tool> = tools
            .iter()
            .map(|t| core::Tool::from_json(t.to_json()).unwrap())
            .collect();
        best_of(5, || {
            let normalized = core::normalize(input.clone(), &config);
            core::validate(&normalized.tools, &policy).len()
        })
    };
    println!("10 000 tools, normalize + validate:");
    println!(
        "  wasm (built-in plugins, incl. model<->WIT conversion once each way) {:>9.2} ms",
        ms(wasm)
    );
    println!(
        "  native (plugins/core, incl. model->core conversion) {:>9.2} ms",
        ms(native)
    );
    println!(
        "  native logic only (tools pre-converted, cloned)     {:>9.2} ms",
        ms(native_logic_only)
    );
    println!(
        "  ratio wasm/native = {:.2}x (target <= 2x); wasm/native-logic-only = {:.2}x",
        ratio(wasm, native),
        ratio(wasm, native_logic_only)
    );

    // 2. Warm calls on 50 tools: fresh store, instantiate, call, lift.
    let fifty = realistic_tools(50);
    let iterations = 2000;
    let normalize_default = load_builtin(builtin::NORMALIZE, Some(&cache), Limits::default());
    let validate_default = load_builtin(builtin::VALIDATE, Some(&cache), Limits::default());
    for _ in 0..100 {
        normalize_default.normalize(&fifty, &ctx()).unwrap();
    }
    let per_call = |f: &dyn Fn()| {
        (0..5)
            .map(|_| {
                let started = Instant::now();
                for _ in 0..iterations {
                    f();
                }
                started.elapsed() / iterations
            })
            .min()
            .unwrap()
    };
    let warm_normalize = per_call(&|| {
        black_box(normalize_default.normalize(&fifty, &ctx()).unwrap());
    });
    let warm_validate = per_call(&|| {
        black_box(validate_default.validate(&fifty, "{}", &ctx()).unwrap());
    });
    let native_fifty = per_call(&|| {
        let input: Vec<core::Tool> = fifty
            .iter()
            .map(|t| core::Tool::from_json(t.to_json()).unwrap())
            .collect();
        black_box(core::normalize(input, &config));
    });
    let empty: Vec<Tool> = Vec::new();
    let one = realistic_tools(1);
    let warm_empty = per_call(&|| {
        black_box(normalize_default.normalize(&empty, &ctx()).unwrap());
    });
    let warm_one = per_call(&|| {
        black_box(normalize_default.normalize(&one, &ctx()).unwrap());
    });
    println!(
        "warm call on 0 / 1 tools: normalize {:.1} µs / {:.1} µs (the fixed cost of a call)",
        us(warm_empty),
        us(warm_one)
    );
    println!("warm call on 50 tools (model->WIT, fresh store + instantiate + call, WIT->model):");
    println!(
        "  normalize {:>8.1} µs (target <= 100 µs); native {:>8.1} µs; ratio {:.2}x",
        us(warm_normalize),
        us(native_fifty),
        ratio(warm_normalize, native_fifty)
    );
    // The guest starts from a fresh instance each call, so it compiles its policy each call;
    // the native baseline does the same.
    let native_validate = per_call(&|| {
        let input: Vec<core::Tool> = fifty
            .iter()
            .map(|t| core::Tool::from_json(t.to_json()).unwrap())
            .collect();
        let policy = core::Policy::from_json_text("{}").unwrap();
        black_box(core::validate(&input, &policy));
    });
    println!(
        "  validate  {:>8.1} µs; native (policy compiled per call) {:>8.1} µs; ratio {:.2}x",
        us(warm_validate),
        us(native_validate),
        ratio(warm_validate, native_validate)
    );

    // 3. Host start: the three built-ins from the cache vs compiled.
    let default = PipelineConfig::default();
    Pipeline::from_config_with_cache(&default, Some(&cache)).unwrap();
    let cached = best_of(5, || {
        Pipeline::from_config_with_cache(&default, Some(&cache)).unwrap()
    });
    let compiled = best_of(3, || {
        Pipeline::from_config_with_cache(&default, None).unwrap()
    });
    let plugins = default.stages.len() as u32;
    println!("host start, {plugins} built-in plugins:");
    println!(
        "  cached   {:>8.2} ms ({:.2} ms per plugin, target <= 10 ms)",
        ms(cached),
        ms(cached / plugins)
    );
    println!(
        "  compiled {:>8.2} ms ({:.2} ms per plugin)",
        ms(compiled),
        ms(compiled / plugins)
    );
    println!("  ratio compiled/cached = {:.1}x", ratio(compiled, cached));
    println!(
        "engine: pooling allocator {}",
        if mcp_probe::plugins::engine::PluginEngine::shared()
            .unwrap()
            .pooling()
        {
            "on"
        } else {
            "off (fallback)"
        }
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}
fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}
