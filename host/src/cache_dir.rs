//! The user's cache directory, shared by the compiled-plugin cache and the scan result cache.

use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// `MCP_PROBE_CACHE_DIR`, else `$XDG_CACHE_HOME/mcp-probe`, else `~/.cache/mcp-probe`.
pub fn default_root() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("MCP_PROBE_CACHE_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    if let Some(xdg) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(xdg).join("mcp-probe"));
    }
    std::env::var_os("HOME")
        .filter(|d| !d.is_empty())
        .map(|home| PathBuf::from(home).join(".cache").join("mcp-probe"))
}

/// Creates `dir` (0700) if needed and checks that only this user can write it: what is read
/// back from it is trusted (compiled code, scan results that decide an exit code).
pub fn open_private(dir: &Path, what: &str) -> std::io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let meta = std::fs::metadata(dir)?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    if meta.uid() != euid || meta.permissions().mode() & 0o022 != 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!(
                "{} is not owned by this user or is writable by others; not using it as the {what}",
                dir.display()
            ),
        ));
    }
    Ok(())
}
