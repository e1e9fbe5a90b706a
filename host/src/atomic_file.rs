//! Writing a file so that readers see the old file or the whole new one, never a part.

use std::io::Write;
use std::path::{Path, PathBuf};

/// A file being written beside `path` under a temporary name; [`AtomicFile::commit`] renames
/// it over `path`. Dropped uncommitted, it is removed: nothing half-written is left.
pub struct AtomicFile {
    file: tempfile::NamedTempFile,
    path: PathBuf,
}

impl AtomicFile {
    /// Opens the temporary file (named `prefix`...) in `path`'s directory.
    pub fn create(path: &Path, prefix: &str) -> std::io::Result<AtomicFile> {
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let file = tempfile::Builder::new().prefix(prefix).tempfile_in(dir)?;
        Ok(AtomicFile {
            file,
            path: path.to_owned(),
        })
    }

    pub fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.file.write_all(bytes)
    }

    /// Syncs and renames the file into place.
    pub fn commit(self) -> std::io::Result<()> {
        self.file.as_file().sync_all()?;
        self.file.persist(&self.path).map_err(|err| err.error)?;
        Ok(())
    }
}

/// Writes `parts`, in order, to a temporary file (named `prefix`...) next to `path`, then
/// renames it over `path`. A failure leaves no half-written file behind.
pub fn write(path: &Path, prefix: &str, parts: &[&[u8]]) -> std::io::Result<()> {
    let mut file = AtomicFile::create(path, prefix)?;
    for part in parts {
        file.write_all(part)?;
    }
    file.commit()
}
