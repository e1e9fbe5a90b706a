//! Writing a file so that readers see the old file or the whole new one, never a part.
//!
//! Two kinds of file are written: private cache entries ([`write`], 0600), and what a user
//! asked for (`--output-file`, `lock -o`, `--write-locks`: [`Output`]), which goes where a
//! shell's `>` would put it: a new file follows the umask, a regular file (also one a symlink
//! points at) is replaced atomically keeping its mode, a FIFO or character device (and
//! `/dev/stdout`) is written directly, and anything else is refused.

use std::fs::{File, OpenOptions, Permissions};
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// A file being written beside `path` under a temporary name; [`AtomicFile::commit`] renames
/// it over `path`. Dropped uncommitted, it is removed: nothing half-written is left.
pub struct AtomicFile {
    file: tempfile::NamedTempFile,
    path: PathBuf,
}

impl AtomicFile {
    /// Opens the temporary file (named `prefix`..., mode 0600) in `path`'s directory.
    pub fn create(path: &Path, prefix: &str) -> std::io::Result<AtomicFile> {
        Self::create_with(path, prefix, Permissions::from_mode(0o600))
    }

    /// As [`AtomicFile::create`], the file created with `permissions` (less the umask).
    fn create_with(
        path: &Path,
        prefix: &str,
        permissions: Permissions,
    ) -> std::io::Result<AtomicFile> {
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let file = tempfile::Builder::new()
            .prefix(prefix)
            .permissions(permissions)
            .tempfile_in(dir)?;
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
        self.stage()?.commit()
    }

    /// Syncs and closes the file, leaving the rename to [`Staged::commit`] (so that many files
    /// can be written before any is put in place). Dropped, a staged file is removed.
    pub fn stage(self) -> std::io::Result<Staged> {
        self.file.as_file().sync_all()?;
        Ok(Staged(Some((self.file.into_temp_path(), self.path))))
    }
}

/// A written file waiting to be renamed into place (or nothing, for a direct write).
pub struct Staged(Option<(tempfile::TempPath, PathBuf)>);

impl Staged {
    pub fn commit(self) -> std::io::Result<()> {
        match self.0 {
            Some((temp, path)) => temp.persist(&path).map_err(|err| err.error),
            None => Ok(()),
        }
    }
}

/// Writes `parts`, in order, to a private temporary file (named `prefix`...) next to `path`,
/// then renames it over `path`. A failure leaves no half-written file behind.
pub fn write(path: &Path, prefix: &str, parts: &[&[u8]]) -> std::io::Result<()> {
    let mut file = AtomicFile::create(path, prefix)?;
    for part in parts {
        file.write_all(part)?;
    }
    file.commit()
}

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// What is at the path cannot take an output (bad input).
    #[error("{path} is {what}; give a regular file, a FIFO or a character device")]
    Unsupported { path: String, what: &'static str },
    #[error("cannot write {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

impl OutputError {
    pub fn is_bad_input(&self) -> bool {
        matches!(self, OutputError::Unsupported { .. })
    }

    /// The error line, a refused path named with the `flag` that gave it.
    pub fn line(&self, flag: &str) -> String {
        match self {
            OutputError::Unsupported { .. } => format!("{flag} {self}"),
            OutputError::Io { .. } => self.to_string(),
        }
    }
}

/// Where an output path leads.
#[derive(Debug, PartialEq)]
pub enum Destination {
    /// A regular file written beside `path` and renamed over it: `path` itself when nothing is
    /// there yet (`keep: None`), else the regular file it names (a symlink's target), whose
    /// mode and owner the new file keeps.
    Replace {
        path: PathBuf,
        keep: Option<(u32, u32, u32)>,
    },
    /// A FIFO or a character device, opened and written as it is.
    Direct,
    /// Our own standard output or error (`/dev/stdout`, `/dev/fd/1`, ...): written to that
    /// descriptor, so that a shell's `>>` or pipe is honoured.
    Fd(i32),
}

impl Destination {
    /// What `path` is, following symlinks; refuses what cannot take an output.
    pub fn of(path: &Path) -> Result<Destination, OutputError> {
        if let Some(fd) = own_descriptor(path) {
            return Ok(Destination::Fd(fd));
        }
        let unsupported = |what| OutputError::Unsupported {
            path: path.display().to_string(),
            what,
        };
        let io = |source| OutputError::Io {
            path: path.display().to_string(),
            source,
        };
        let meta = match std::fs::metadata(path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // A symlink to nothing: creating its target could put a file anywhere.
                if std::fs::symlink_metadata(path).is_ok() {
                    return Err(unsupported("a symlink to a missing file"));
                }
                return Ok(Destination::Replace {
                    path: path.to_owned(),
                    keep: None,
                });
            }
            Err(e) => return Err(io(e)),
        };
        let kind = meta.file_type();
        if kind.is_file() {
            let real = std::fs::canonicalize(path).map_err(io)?;
            let keep = Some((meta.permissions().mode() & 0o777, meta.uid(), meta.gid()));
            return Ok(Destination::Replace { path: real, keep });
        }
        if kind.is_fifo() || kind.is_char_device() {
            return Ok(Destination::Direct);
        }
        Err(unsupported(match () {
            _ if kind.is_dir() => "a directory",
            _ if kind.is_block_device() => "a block device",
            _ if kind.is_socket() => "a socket",
            _ => "not a regular file",
        }))
    }
}

/// The descriptor `path` names when it is one of our own standard output or error.
fn own_descriptor(path: &Path) -> Option<i32> {
    match path.to_str()? {
        "/dev/stdout" | "/dev/fd/1" | "/proc/self/fd/1" => Some(1),
        "/dev/stderr" | "/dev/fd/2" | "/proc/self/fd/2" => Some(2),
        _ => None,
    }
}

/// An output the user named, being written (see the module's note for where it goes).
pub enum Output {
    Replace(AtomicFile),
    Direct(File),
}

impl Output {
    /// Opens the output at `path`; a temporary file is named `prefix`....
    pub fn open(path: &Path, prefix: &str) -> Result<Output, OutputError> {
        let destination = Destination::of(path)?;
        Output::open_at(path, prefix, destination).map_err(|source| OutputError::Io {
            path: path.display().to_string(),
            source,
        })
    }

    fn open_at(path: &Path, prefix: &str, to: Destination) -> std::io::Result<Output> {
        match to {
            Destination::Replace { path, keep: None } => {
                // 0666 less the umask, as any program's new output.
                AtomicFile::create_with(&path, prefix, Permissions::from_mode(0o666))
                    .map(Output::Replace)
            }
            Destination::Replace {
                path,
                keep: Some((mode, uid, gid)),
            } => {
                let file = AtomicFile::create_with(&path, prefix, Permissions::from_mode(0o600))?;
                let handle = file.file.as_file();
                // The owner only where we may set it (root, or our own group); the mode always.
                if let Err(e) = std::os::unix::fs::fchown(handle, Some(uid), Some(gid)) {
                    tracing::debug!("{}: keeping the owner failed: {e}", path.display());
                }
                handle.set_permissions(Permissions::from_mode(mode))?;
                Ok(Output::Replace(file))
            }
            Destination::Direct => OpenOptions::new()
                .write(true)
                .open(path)
                .map(Output::Direct),
            Destination::Fd(fd) => {
                use std::os::fd::AsFd;
                let owned = match fd {
                    1 => std::io::stdout().as_fd().try_clone_to_owned()?,
                    _ => std::io::stderr().as_fd().try_clone_to_owned()?,
                };
                Ok(Output::Direct(File::from(owned)))
            }
        }
    }

    pub fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match self {
            Output::Replace(file) => file.write_all(bytes),
            Output::Direct(file) => file.write_all(bytes),
        }
    }

    /// Puts the output in place (a direct write is already there).
    pub fn commit(self) -> std::io::Result<()> {
        self.stage()?.commit()
    }

    /// Finishes writing, leaving the rename to [`Staged::commit`].
    pub fn stage(self) -> std::io::Result<Staged> {
        match self {
            Output::Replace(file) => file.stage(),
            Output::Direct(mut file) => file.flush().map(|()| Staged(None)),
        }
    }
}

/// Streams an output (a merge's lines) through a buffer.
impl std::io::Write for Output {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.write_all(bytes).map(|()| bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Writes `bytes` to the output at `path` (see [`Output`]).
pub fn write_output(path: &Path, prefix: &str, bytes: &[u8]) -> Result<(), OutputError> {
    let io = |source| OutputError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut output = Output::open(path, prefix)?;
    output.write_all(bytes).map_err(io)?;
    output.commit().map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_new_file_follows_the_umask_and_an_old_one_keeps_its_mode() {
        let dir = tempfile::tempdir().unwrap();
        let new = dir.path().join("new.json");
        write_output(&new, ".t-", b"new").unwrap();
        let umask = current_umask();
        assert_eq!(mode(&new), 0o666 & !umask);
        let old = dir.path().join("old.json");
        std::fs::write(&old, "old").unwrap();
        for kept in [0o644, 0o640, 0o600, 0o664] {
            std::fs::set_permissions(&old, Permissions::from_mode(kept)).unwrap();
            write_output(&old, ".t-", b"again").unwrap();
            assert_eq!(mode(&old), kept);
            assert_eq!(std::fs::read_to_string(&old).unwrap(), "again");
        }
        assert_eq!(entries(dir.path()), ["new.json", "old.json"]);
    }

    /// The umask as a new file shows it (reading it with umask(2) would change it).
    fn current_umask() -> u32 {
        let dir = tempfile::tempdir().unwrap();
        let probe = dir.path().join("p");
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&probe)
            .unwrap();
        0o666 & !mode(&probe)
    }

    #[test]
    fn a_symlink_stays_and_its_target_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("real.json");
        std::fs::write(&target, "old").unwrap();
        std::fs::set_permissions(&target, Permissions::from_mode(0o640)).unwrap();
        let link = dir.path().join("link.json");
        symlink("real.json", &link).unwrap();
        let chained = dir.path().join("chain.json");
        symlink(&link, &chained).unwrap();
        write_output(&chained, ".t-", b"report").unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
        assert!(std::fs::symlink_metadata(&chained).unwrap().is_symlink());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "report");
        assert_eq!(mode(&target), 0o640);
        assert_eq!(
            entries(dir.path()),
            ["chain.json", "link.json", "real.json"]
        );
    }

    #[test]
    fn what_cannot_take_an_output_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        let dangling = dir.path().join("dangling");
        symlink(dir.path().join("missing"), &dangling).unwrap();
        let to_dir = dir.path().join("to-dir");
        symlink(&sub, &to_dir).unwrap();
        let socket_path = dir.path().join("sock");
        let _socket = std::os::unix::net::UnixListener::bind(&socket_path).unwrap();
        for (path, what) in [
            (&sub, "a directory"),
            (&dangling, "a symlink to a missing file"),
            (&to_dir, "a directory"),
            (&socket_path, "a socket"),
        ] {
            let err = write_output(path, ".t-", b"x").unwrap_err();
            assert!(err.is_bad_input(), "{err}");
            assert!(err.to_string().contains(what), "{err}");
        }
        assert!(std::fs::symlink_metadata(&dangling).unwrap().is_symlink());
        assert!(!dir.path().join("missing").exists());
        assert_eq!(entries(&sub), Vec::<String>::new());
        assert_eq!(entries(dir.path()), ["dangling", "sock", "sub", "to-dir"]);
    }

    #[test]
    fn a_character_device_and_a_fifo_are_written_directly() {
        assert_eq!(
            Destination::of(Path::new("/dev/null")).unwrap(),
            Destination::Direct
        );
        write_output(Path::new("/dev/null"), ".t-", b"gone").unwrap();
        assert_eq!(
            Destination::of(Path::new("/dev/stdout")).unwrap(),
            Destination::Fd(1)
        );
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
        };
        write_output(&fifo, ".t-", b"through").unwrap();
        assert_eq!(reader.join().unwrap(), "through");
        assert!(std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo());
        assert_eq!(entries(dir.path()), ["fifo"]);
    }

    #[test]
    fn staged_files_are_removed_unless_committed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        let mut output = Output::open(&path, ".t-").unwrap();
        output.write_all(b"x").unwrap();
        drop(output.stage().unwrap());
        assert_eq!(entries(dir.path()), Vec::<String>::new());
    }
}
