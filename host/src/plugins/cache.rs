//! On-disk cache of compiled components, so a second run does not compile again.
//!
//! Key: sha256 of the component bytes + a digest of `Engine::precompile_compatibility_hash`
//! (which covers the wasmtime version, the target and the engine settings) + the wasmtime
//! version. Each entry ends with the sha256 of the artifact before it, so a truncated or
//! corrupted entry is detected and recompiled rather than loaded.

use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use wasmtime::component::Component;
use wasmtime::Engine;

const DIGEST_LEN: usize = 32;

/// Where a component came from on this load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Loaded from a cached artifact.
    Hit,
    /// Compiled and stored (the entry was missing or corrupt).
    Compiled,
    /// Compiled; no usable cache directory.
    Uncached,
}

/// A directory of compiled artifacts that only the current user can write.
#[derive(Debug, Clone)]
pub struct ArtifactCache {
    dir: PathBuf,
}

/// Feeds `Hash` output into sha256, giving a digest that is stable across processes.
struct ShaHasher(Sha256);
impl Hasher for ShaHasher {
    fn finish(&self) -> u64 {
        unreachable!("only the sha256 digest is used")
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

impl ArtifactCache {
    /// Opens (creating it 0700) the cache at `dir`. Refuses a directory another user owns or
    /// that others can write: we later map its files as executable code.
    pub fn open(dir: impl Into<PathBuf>) -> std::io::Result<Self> {
        let dir = dir.into();
        crate::cache_dir::open_private(&dir, "plugin cache")?;
        Ok(ArtifactCache { dir })
    }

    /// The default cache, or `None` (with a debug log) when it cannot be used.
    pub fn open_default() -> Option<Self> {
        let dir = crate::cache_dir::default_root()?;
        match Self::open(&dir) {
            Ok(cache) => Some(cache),
            Err(e) => {
                tracing::warn!("plugin cache {} unusable: {e}", dir.display());
                None
            }
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The entry file for a component with sha256 `wasm_sha256` (hex) under `engine`.
    pub fn entry_path(&self, engine: &Engine, wasm_sha256: &str) -> PathBuf {
        let mut hasher = ShaHasher(Sha256::new());
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let compat = hex::encode(&hasher.0.finalize()[..8]);
        let version = env!("MCP_PROBE_WASMTIME_VERSION");
        self.dir
            .join(format!("{wasm_sha256}-{compat}-wasmtime{version}.cwasm"))
    }

    /// Loads the compiled component from the cache, or compiles and stores it.
    pub fn load_or_compile(
        &self,
        engine: &Engine,
        bytes: &[u8],
        wasm_sha256: &str,
    ) -> wasmtime::Result<(Component, CacheOutcome)> {
        let path = self.entry_path(engine, wasm_sha256);
        if let Some(component) = self.try_load(engine, &path) {
            return Ok((component, CacheOutcome::Hit));
        }
        let artifact = engine.precompile_component(bytes)?;
        // The artifact and its own sha256, all or nothing: a reader never sees half an entry.
        let digest = Sha256::digest(&artifact);
        if let Err(e) = crate::atomic_file::write(&path, ".tmp-", &[&artifact, &digest]) {
            tracing::warn!(
                "could not store {} in the plugin cache: {e}",
                path.display()
            );
        }
        // SAFETY: `artifact` was produced just now by `precompile_component` on this engine.
        let component = unsafe { Component::deserialize(engine, &artifact)? };
        Ok((component, CacheOutcome::Compiled))
    }

    fn try_load(&self, engine: &Engine, path: &Path) -> Option<Component> {
        let data = crate::input_file::read(path, crate::input_file::Kind::Cache).ok()?;
        if data.len() < DIGEST_LEN {
            tracing::debug!("plugin cache entry {} truncated", path.display());
            return None;
        }
        let (artifact, digest) = data.split_at(data.len() - DIGEST_LEN);
        if Sha256::digest(artifact).as_slice() != digest {
            tracing::debug!("plugin cache entry {} corrupt; recompiling", path.display());
            return None;
        }
        // SAFETY: deserializing runs the bytes as native code, so they must come from
        // wasmtime's own `precompile_component`. They do: the file sits in a directory that
        // `open` checked is owned by this user and writable by nobody else, only this module
        // writes there (atomically), and the trailing sha256 proves it is the bytes we wrote.
        match unsafe { Component::deserialize(engine, artifact) } {
            Ok(component) => Some(component),
            Err(e) => {
                tracing::debug!(
                    "plugin cache entry {} unusable ({e}); recompiling",
                    path.display()
                );
                None
            }
        }
    }
}

/// Lower-case hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}
