//! Plugin host benchmark (`cargo bench -p mcp-probe --bench plugins`). Prints ratios against
//! baselines measured in the same run:
//! 1. 10 000 realistic tools through normalize + validate: the pipeline with the built-in WASM
//!    plugins vs the same logic (plugins/core) compiled natively into the host. Both start from
//!    the host's own tools and end with the host's tools and findings. Target: WASM ≤ 2.5× native (issue #12).
//!    Beside it, the floor the contract sets: the same pipeline with guests that do nothing
//!    (a normalizer that hands its input back, a validator that finds nothing), so that what
//!    is left is the crossing itself — lowering the list into each guest and lifting it back.
//! 2. A warm call of one plugin on 50 tools, as the pipeline makes it: fresh store +
//!    instantiate + call on the tools in WIT form (the pipeline converts once per run, not per
//!    call). Target ≤ 100 µs.
//! 3. Loading the three built-ins with the compiled-artifact cache vs compiling them.
//!    Target ≤ 10 ms per cached plugin.

mod support;
// The WAT guests the tests build, for the floor.
#[path = "../tests/components/mod.rs"]
mod components;

use mcp_probe::model::{Finding, Tool};
use mcp_probe::plugins::bindings::Context;
use mcp_probe::plugins::config::StageSpec;
use mcp_probe::plugins::convert;
use mcp_probe::plugins::pipeline::DiscoveryContext;
use mcp_probe::plugins::{builtin, ArtifactCache, Limits, LoadedPlugin, Pipeline, PipelineConfig};
use mcp_probe_plugin_core as core;
use std::hint::black_box;
use std::time::{Duration, Instant};

fn realistic_tools(n: usize) -> Vec<Tool> {
    (0..n)
        .map(|i| Tool::from_json(support::realistic_tool(i)).unwrap())
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
    best_of_with(rounds, || (), |()| f())
}

/// [`best_of`] where each run consumes an input made by `setup` outside the timing.
fn best_of_with<I, T>(
    rounds: usize,
    mut setup: impl FnMut() -> I,
    mut f: impl FnMut(I) -> T,
) -> Duration {
    (0..rounds)
        .map(|_| {
            let input = setup();
            let started = Instant::now();
            let output = black_box(f(input));
            let elapsed = started.elapsed();
            // Freeing the result is not part of the work measured.
            drop(output);
            elapsed
        })
        .min()
        .unwrap()
}

/// Best of `rounds` for two contenders run alternately, each on an input made by `setup`
/// outside the timing, so that both see the same machine conditions.
fn race<I, A, B>(
    rounds: usize,
    mut setup: impl FnMut() -> I,
    mut a: impl FnMut(I) -> A,
    mut b: impl FnMut(I) -> B,
) -> (Duration, Duration) {
    let (mut best_a, mut best_b) = (Duration::MAX, Duration::MAX);
    for _ in 0..rounds {
        best_a = best_a.min(best_of_with(1, &mut setup, &mut a));
        best_b = best_b.min(best_of_with(1, &mut setup, &mut b));
    }
    (best_a, best_b)
}

/// A guest's view of the records the host lowers into it: the same text, taken as it is.
fn as_guest_receives(records: Vec<mcp_probe::plugins::bindings::Tool>) -> Vec<Tool> {
    records
        .into_iter()
        .map(|t| Tool::from_host_text_parts(convert::tool_text_parts(t)).unwrap())
        .collect()
}

/// Normalize then validate, natively: the same functions the guests run, on the host's tools.
fn native_pipeline(
    tools: Vec<Tool>,
    config: &core::NormalizeConfig,
    policy_text: &str,
) -> (Vec<Tool>, Vec<Finding>) {
    let normalized = core::normalize(tools, config);
    let policy = core::Policy::from_json_text(policy_text).unwrap();
    let mut findings: Vec<Finding> = normalized
        .findings
        .into_iter()
        .map(|f| f.from_source("builtin:normalize"))
        .collect();
    findings.extend(
        core::validate(&normalized.tools, &policy)
            .unwrap()
            .into_iter()
            .map(|f| f.from_source("builtin:validate")),
    );
    (normalized.tools, findings)
}

/// A normalize stage then a validate stage (`builtin:NAME` or component paths).
fn pipeline(cache: &ArtifactCache, normalizer: &str, validator: &str) -> Pipeline {
    let stage = |plugin: &str| {
        let mut spec = StageSpec::for_path(plugin);
        spec.timeout_ms = Some(60_000);
        spec.memory_mib = Some(1024);
        spec
    };
    let config = PipelineConfig {
        stages: vec![stage(normalizer), stage(validator)],
        ..PipelineConfig::default()
    };
    Pipeline::from_config_with_cache(&config, Some(cache)).unwrap()
}

/// Guests that do nothing, written to `dir`: a normalizer that returns its input and a
/// validator that returns no finding. Returns their paths.
fn idle_guests(dir: &std::path::Path) -> (String, String) {
    let ret = components::RET;
    let nothing = format!(
        "(i32.store8 (i32.const {ret}) (i32.const 0))\n{}{}(i32.const {ret})",
        components::store(ret + 4, "(i32.const 0)"),
        components::store(ret + 8, "(i32.const 0)"),
    );
    let guests = [
        ("echo-normalizer.wasm", components::echo_normalizer()),
        (
            "empty-validator.wasm",
            components::Guest::new("validator", &nothing),
        ),
    ];
    let [normalizer, validator] = guests.map(|(file, guest)| {
        let path = dir.join(file);
        std::fs::write(&path, guest.component()).unwrap();
        path.display().to_string()
    });
    (normalizer, validator)
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
    let discovery = DiscoveryContext {
        source: "bench".into(),
        discovery_method: "file".into(),
        server_info: None,
    };
    let config = core::NormalizeConfig::from_json_text(None).unwrap();

    // 1. Throughput on 10 000 tools. Each run gets its own copy of the tools, made untimed:
    //    the host owns the tools it discovered and hands them over.
    let tools = realistic_tools(10_000);
    let big = pipeline(&cache, "builtin:normalize", "builtin:validate");
    let (echo, empty) = idle_guests(cache_dir.path());
    let idle = pipeline(&cache, &echo, &empty);
    // Agreement first: the same tools and findings either way.
    let by_wasm = big.run_plugins(tools.clone(), &discovery).unwrap();
    let (native_tools, native_findings) = native_pipeline(tools.clone(), &config, "{}");
    assert_eq!(by_wasm.tools, native_tools);
    assert_eq!(by_wasm.findings, native_findings);
    let (wasm, native) = race(
        9,
        || tools.clone(),
        |tools| big.run_plugins(tools, &discovery).unwrap(),
        |tools| native_pipeline(tools, &config, "{}"),
    );
    // The floor: the same crossings with guests that do nothing.
    let by_idle = idle.run_plugins(tools.clone(), &discovery).unwrap();
    assert_eq!(by_idle.tools, tools);
    assert!(by_idle.findings.is_empty());
    let (floor, native_again) = race(
        9,
        || tools.clone(),
        |tools| idle.run_plugins(tools, &discovery).unwrap(),
        |tools| native_pipeline(tools, &config, "{}"),
    );
    // The plugins' share: the two calls on the tools in WIT form, against the guests' own
    // functions natively on a copy of the same records (a guest gets its copy when the call
    // lowers them into its memory).
    let normalize = load_builtin(
        builtin::NORMALIZE,
        Some(&cache),
        big.stages()[0].plugin.limits(),
    );
    let validate = load_builtin(
        builtin::VALIDATE,
        Some(&cache),
        big.stages()[1].plugin.limits(),
    );
    let sent: Vec<_> = tools.iter().cloned().map(convert::tool_to_wit).collect();
    let (calls, native_steps) = race(
        9,
        || (),
        |()| {
            let (normalized, findings) = normalize.normalize_wit(&sent, &ctx()).unwrap();
            let more = validate.validate_wit(&normalized, "{}", &ctx()).unwrap();
            (normalized, findings, more)
        },
        |()| {
            let normalized = core::normalize(as_guest_receives(sent.clone()), &config);
            let policy = core::Policy::from_json_text("{}").unwrap();
            let findings = core::validate(&normalized.tools, &policy).unwrap();
            (normalized, findings)
        },
    );
    // Where the end-to-end WASM path's time goes, step by step.
    let to_wit = best_of(5, || {
        tools
            .iter()
            .cloned()
            .map(convert::tool_to_wit)
            .collect::<Vec<_>>()
    });
    let normalize_call = best_of(5, || normalize.normalize_wit(&sent, &ctx()).unwrap());
    let (normalized, _) = normalize.normalize_wit(&sent, &ctx()).unwrap();
    let validate_call = best_of(5, || {
        validate.validate_wit(&normalized, "{}", &ctx()).unwrap()
    });
    let back = best_of_with(
        5,
        || normalized.clone(),
        |normalized| convert::tools_back_from_wit(normalized, &sent).unwrap(),
    );
    println!("10 000 tools, normalize + validate (best of 9 alternating runs each):");
    println!("  end to end: host tools (members as JSON text) in -> host tools + findings out");
    println!(
        "    wasm   (Pipeline::run_plugins: tools -> WIT records -> plugins -> tools)   {:>8.2} ms",
        ms(wasm)
    );
    println!(
        "    native (plugins/core linked in, on the tools themselves)                {:>8.2} ms",
        ms(native)
    );
    println!(
        "    ratio wasm/native = {:.2}x (target <= 2.5x)",
        ratio(wasm, native)
    );
    println!(
        "  the floor: the same pipeline with guests that do nothing (echo normalizer, empty validator)"
    );
    println!(
        "    idle guests (only the crossings: lower, lift, check)                 {:>8.2} ms",
        ms(floor)
    );
    println!(
        "    native, again                                                        {:>8.2} ms",
        ms(native_again)
    );
    println!(
        "    ratio floor/native = {:.2}x: no guest code can bring wasm/native below it",
        ratio(floor, native_again)
    );
    println!(
        "    wasm steps: tools to WIT records {:.1} ms, normalize call {:.1} ms, validate call \
         {:.1} ms, back to tools {:.1} ms",
        ms(to_wit),
        ms(normalize_call),
        ms(validate_call),
        ms(back)
    );
    println!("  the plugins alone, on the tools in WIT form (as the pipeline holds them between stages):");
    println!(
        "    wasm   (two calls: fresh instance, lower, run, lift, check)        {:>8.2} ms",
        ms(calls)
    );
    println!(
        "    native (the guests' plugins/core functions on a copy of the records) {:>8.2} ms",
        ms(native_steps)
    );
    println!("    ratio wasm/native = {:.2}x", ratio(calls, native_steps));

    // 2. Warm calls on 50 tools: fresh store, instantiate, call, lift, check.
    let fifty = realistic_tools(50);
    let fifty_wit: Vec<_> = fifty.iter().cloned().map(convert::tool_to_wit).collect();
    let iterations = 2000;
    let normalize_default = load_builtin(builtin::NORMALIZE, Some(&cache), Limits::default());
    let validate_default = load_builtin(builtin::VALIDATE, Some(&cache), Limits::default());
    for _ in 0..100 {
        normalize_default.normalize_wit(&fifty_wit, &ctx()).unwrap();
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
        black_box(normalize_default.normalize_wit(&fifty_wit, &ctx()).unwrap());
    });
    let warm_validate = per_call(&|| {
        black_box(
            validate_default
                .validate_wit(&fifty_wit, "{}", &ctx())
                .unwrap(),
        );
    });
    let with_conversion = per_call(&|| {
        black_box(normalize_default.normalize(&fifty, &ctx()).unwrap());
    });
    // Natively: the guests' functions on a copy of the same records.
    let native_normalize = per_call(&|| {
        black_box(core::normalize(
            as_guest_receives(fifty_wit.clone()),
            &config,
        ));
    });
    // The guest starts from a fresh instance each call, so it compiles its policy each call;
    // the native baseline does the same.
    let native_validate = per_call(&|| {
        let input = as_guest_receives(fifty_wit.clone());
        let policy = core::Policy::from_json_text("{}").unwrap();
        black_box(core::validate(&input, &policy).unwrap());
    });
    let empty: Vec<mcp_probe::plugins::bindings::Tool> = Vec::new();
    let warm_empty = per_call(&|| {
        black_box(normalize_default.normalize_wit(&empty, &ctx()).unwrap());
    });
    println!("warm call on 50 tools (fresh store + instantiate + call + lift + check):");
    println!(
        "  normalize {:>8.1} µs (target <= 100 µs); native on a copy of the records {:>6.1} µs",
        us(warm_normalize),
        us(native_normalize)
    );
    println!(
        "  validate  {:>8.1} µs; native on a copy, policy compiled per call as in the guest {:>6.1} µs",
        us(warm_validate),
        us(native_validate)
    );
    println!(
        "  fixed cost of a call (normalize on 0 tools) {:.1} µs; normalize with the host-tool \
         <-> WIT conversion in the call {:.1} µs",
        us(warm_empty),
        us(with_conversion)
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
