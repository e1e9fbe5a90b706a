//! The one wasmtime `Engine` of the process, its epoch ticker, and the per-call sandbox:
//! a fresh `Store` with memory/table/instance limits and an epoch deadline for every call.

use super::bindings::log;
use super::PluginError;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, Trap};

/// How often the ticker thread advances the engine's epoch: the granularity of timeouts.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);
/// The default per-call deadline.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);
/// The default bound on a plugin's linear memory.
pub const DEFAULT_MEMORY_MIB: u64 = 64;
/// The largest memory bound a stage may ask for (the pooling allocator's slot size).
pub const MAX_MEMORY_MIB: u64 = 4096;
/// Bounds that rarely matter for honest plugins but stop a hostile one building tables.
const MAX_TABLE_ELEMENTS: usize = 1 << 20;
const MAX_INSTANCES: usize = 64;
const MAX_TABLES: usize = 64;
const MAX_MEMORIES: usize = 16;
/// The longest log message kept from a plugin.
const MAX_LOG_BYTES: usize = 4096;
/// The wasm call stack; unbounded recursion hits this and traps.
const MAX_WASM_STACK: usize = 1 << 20;

/// Per-plugin bounds, from the pipeline file or the defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub timeout: Duration,
    pub memory_bytes: usize,
    /// True unless the stage named `memory-mib`: the bound then grows with each call's input
    /// (see [`Limits::for_input`]), so a default never fails on an input the host holds.
    pub memory_from_input: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: DEFAULT_TIMEOUT,
            memory_bytes: (DEFAULT_MEMORY_MIB << 20) as usize,
            memory_from_input: true,
        }
    }
}

/// Linear memory a default-bounded call gets per byte of input: the lowered copy, what the
/// guest builds from it, and its result.
const MEMORY_PER_INPUT_BYTE: usize = 8;

impl Limits {
    /// The limits for one call on `input_bytes` of input: a default memory bound becomes
    /// 16 MiB + 8 bytes per input byte when that is more, capped at the largest bound.
    pub fn for_input(&self, input_bytes: usize) -> Limits {
        let mut limits = *self;
        if self.memory_from_input {
            let wanted =
                (16usize << 20).saturating_add(input_bytes.saturating_mul(MEMORY_PER_INPUT_BYTE));
            limits.memory_bytes = wanted
                .max(self.memory_bytes)
                .min((MAX_MEMORY_MIB << 20) as usize);
        }
        limits
    }
}

/// The process-wide engine (see [`PluginEngine::shared`]).
static SHARED: OnceLock<Result<PluginEngine, String>> = OnceLock::new();

/// Set by [`interrupt_calls`]: running calls trap, new ones trap at once.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Epochs to jump on an interrupt: past any call's deadline (a day of ticks).
const INTERRUPT_TICKS: u64 = 24 * 3600 * 100;

/// Stops every plugin call now running and every later one (Ctrl-C, SIGTERM): a call bounded
/// by a long timeout must not hold the exit. Safe to call from any thread.
pub fn interrupt_calls() {
    INTERRUPTED.store(true, Ordering::SeqCst);
    if let Some(Ok(shared)) = SHARED.get() {
        for _ in 0..INTERRUPT_TICKS {
            shared.engine.increment_epoch();
        }
    }
}

/// True once [`interrupt_calls`] was called.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// The shared engine and the linker that offers plugins exactly one import: `log`.
pub struct PluginEngine {
    engine: Engine,
    linker: Linker<HostState>,
    pooling: bool,
}

impl PluginEngine {
    /// The process-wide engine, created (with its ticker thread) on first use.
    pub fn shared() -> Result<&'static PluginEngine, PluginError> {
        SHARED
            .get_or_init(|| PluginEngine::new().map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|message| PluginError::Failed {
                plugin: "(engine)".into(),
                message: message.clone(),
            })
    }

    fn new() -> wasmtime::Result<PluginEngine> {
        // The pooling allocator makes instantiation (done on every call) about twice as fast,
        // but needs a large virtual address space reservation; fall back when that fails.
        let (engine, pooling) = match Engine::new(&config(true)) {
            Ok(engine) => (engine, true),
            Err(e) => {
                tracing::debug!("pooling allocator unavailable ({e}); using on-demand");
                (Engine::new(&config(false))?, false)
            }
        };
        let mut linker = Linker::new(&engine);
        log::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |state| state)?;
        let ticker = engine.weak();
        std::thread::Builder::new()
            .name("mcp-probe-epoch".into())
            .spawn(move || loop {
                std::thread::sleep(EPOCH_TICK);
                match ticker.upgrade() {
                    Some(engine) => engine.increment_epoch(),
                    None => break,
                }
            })?;
        Ok(PluginEngine {
            engine,
            linker,
            pooling,
        })
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn linker(&self) -> &Linker<HostState> {
        &self.linker
    }

    /// Whether instances come from the pooling allocator.
    pub fn pooling(&self) -> bool {
        self.pooling
    }

    /// A fresh store for one call of `plugin`, bounded by `limits`.
    pub fn store(&self, plugin: &Arc<str>, limits: &Limits) -> Store<HostState> {
        let mut store = Store::new(
            &self.engine,
            HostState {
                plugin: plugin.clone(),
                limiter: Limiter::new(limits.memory_bytes),
            },
        );
        store.limiter(|state| &mut state.limiter);
        let ticks = match interrupted() {
            true => 0,
            false => deadline_ticks(limits.timeout),
        };
        store.set_epoch_deadline(ticks);
        store.epoch_deadline_trap();
        store
    }
}

/// How much of a guest memory stays resident between calls: what a small call touches (its
/// 256 KiB shadow stack, data and heap for some hundred tools).
const KEEP_RESIDENT_BYTES: usize = 2 << 20;

fn config(pooling: bool) -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    config.max_wasm_stack(MAX_WASM_STACK);
    if pooling {
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(256)
            .total_core_instances(1024)
            .total_memories(256)
            .total_tables(512)
            .max_memory_size((MAX_MEMORY_MIB << 20) as usize);
        // Reset the first pages of a finished call's memory with memset instead of handing
        // them back to the kernel: the next small call then starts without page faults (a
        // 50-tool call takes about a third less time). Only the first few MiB: a large list
        // grows a guest's memory by many times more, and keeping that resident after the call
        // would hold it through every later stage (100 000 tools: about 60 MB more peak RSS).
        pool.linear_memory_keep_resident(KEEP_RESIDENT_BYTES)
            .table_keep_resident(1 << 20)
            .pagemap_scan(wasmtime::Enabled::Auto);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    config
}

/// Epochs to wait for `timeout`, rounded up, plus one because the current tick is partial.
fn deadline_ticks(timeout: Duration) -> u64 {
    let tick = EPOCH_TICK.as_nanos();
    (timeout.as_nanos().div_ceil(tick) as u64).max(1) + 1
}

/// What a store carries: whose call this is (for logs and errors) and its limiter.
pub struct HostState {
    plugin: Arc<str>,
    limiter: Limiter,
}

impl HostState {
    /// The limit the call ran into, if it did.
    pub fn limit_hit(&self) -> Option<&str> {
        self.limiter.exceeded.as_deref()
    }
}

impl log::Host for HostState {
    fn log(&mut self, level: log::Level, mut message: String) {
        // A plugin must not be able to flood the operator's terminal.
        if message.len() > MAX_LOG_BYTES {
            let mut cut = MAX_LOG_BYTES;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push_str("...");
        }
        let plugin = &*self.plugin;
        match level {
            log::Level::Trace => tracing::trace!(plugin, "{message}"),
            log::Level::Debug => tracing::debug!(plugin, "{message}"),
            log::Level::Info => tracing::info!(plugin, "{message}"),
            log::Level::Warn => tracing::warn!(plugin, "{message}"),
            log::Level::Error => tracing::error!(plugin, "{message}"),
        }
    }
}

/// Like wasmtime's `StoreLimits`, but growth past a bound traps (instead of `memory.grow`
/// returning -1, which guests usually turn into an opaque abort) and records what was hit,
/// so the error says "memory limit" rather than "unreachable".
struct Limiter {
    memory_bytes: usize,
    exceeded: Option<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct LimitExceeded(String);

impl Limiter {
    fn new(memory_bytes: usize) -> Self {
        Limiter {
            memory_bytes,
            exceeded: None,
        }
    }

    fn exceed(&mut self, what: String) -> wasmtime::Result<bool> {
        self.exceeded = Some(what.clone());
        Err(wasmtime::Error::new(LimitExceeded(what)))
    }
}

impl wasmtime::ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_bytes {
            return self.exceed(format!(
                "memory limit of {} MiB (asked for {} MiB; raise it with the stage's \
                 `memory-mib` in the --pipeline file, at most {MAX_MEMORY_MIB})",
                self.memory_bytes >> 20,
                desired.div_ceil(1 << 20)
            ));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > MAX_TABLE_ELEMENTS {
            return self.exceed(format!("table limit of {MAX_TABLE_ELEMENTS} elements"));
        }
        Ok(true)
    }

    fn instances(&self) -> usize {
        MAX_INSTANCES
    }
    fn tables(&self) -> usize {
        MAX_TABLES
    }
    fn memories(&self) -> usize {
        MAX_MEMORIES
    }
}

/// Turns a failed call into the error kind an operator can act on.
pub fn classify(
    plugin: &str,
    limits: &Limits,
    limit_hit: Option<&str>,
    error: wasmtime::Error,
) -> PluginError {
    let plugin = plugin.to_string();
    if let Some(what) = limit_hit {
        return PluginError::ResourceLimit {
            plugin,
            message: what.to_string(),
        };
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) if interrupted() => PluginError::Interrupted,
        Some(Trap::Interrupt) => PluginError::Timeout {
            plugin,
            timeout_ms: limits.timeout.as_millis() as u64,
        },
        Some(Trap::StackOverflow) => PluginError::ResourceLimit {
            plugin,
            message: "wasm call stack exhausted (unbounded recursion?)".into(),
        },
        Some(trap) => PluginError::Trap {
            plugin,
            message: trap.to_string(),
        },
        // Not a trap: lifting the result failed (pointer out of bounds, bad discriminant,
        // invalid UTF-8, ...): the plugin handed back something malformed.
        None => PluginError::Malformed {
            plugin,
            message: format!("{error:#}"),
        },
    }
}
