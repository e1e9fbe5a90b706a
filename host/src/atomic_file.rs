//! Writing a file so that readers see the old file or the whole new one, never a part.

use std::io::Write;
use std::path::Path;

/// Writes `parts`, in order, to a temporary file (named `prefix`...) next to `path`, then
/// renames it over `path`. A failure leaves no half-written file behind.
pub fn write(path: &Path, prefix: &str, parts: &[&[u8]]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut file = tempfile::Builder::new().prefix(prefix).tempfile_in(dir)?;
    for part in parts {
        file.write_all(part)?;
    }
    file.as_file().sync_all()?;
    file.persist(path).map_err(|err| err.error)?;
    Ok(())
}
