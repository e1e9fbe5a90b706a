//! Reading the operator's files with a bound. Every file the CLI reads (a plugin, a policy, a
//! pipeline, a lock file, a tool list, a catalog, a baseline, a shard, a kubeconfig, a cache
//! entry) goes through here: it must be a regular file (symlinks are followed), and no larger
//! than its kind's limit, so that `/dev/zero` or a FIFO is refused at once instead of filling
//! memory or hanging.

use std::fs::{File, Metadata, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

const MIB: u64 = 1024 * 1024;

/// What a file is read as; each kind has its own size limit (README, "Input limits").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A WebAssembly plugin component.
    Plugin,
    /// A scan catalog.
    Catalog,
    /// A policy, a pipeline file or a kubeconfig.
    Config,
    /// A tool list, a lock file or a baseline: documents of tools, read whole.
    Document,
    /// A scan shard's JSON Lines, which `scan merge` streams (held by the line, not the byte).
    Shard,
    /// An entry of a cache directory (a miss when refused).
    Cache,
}

impl Kind {
    /// The most bytes a file of this kind may hold.
    pub fn limit(self) -> u64 {
        match self {
            Kind::Config => 16 * MIB,
            Kind::Plugin | Kind::Catalog => 64 * MIB,
            Kind::Document => 256 * MIB,
            Kind::Shard => 4096 * MIB,
            Kind::Cache => 512 * MIB,
        }
    }

    fn what(self) -> &'static str {
        match self {
            Kind::Plugin => "a plugin",
            Kind::Catalog => "a catalog",
            Kind::Config => "a policy, pipeline or kubeconfig",
            Kind::Document => "a tool list, lock file or baseline",
            Kind::Shard => "a scan shard",
            Kind::Cache => "a cache entry",
        }
    }
}

/// Why a file is not read. Carried inside the `std::io::Error` the readers return (kind
/// `InvalidInput` or `FileTooLarge`), so that each caller's "cannot read X: ..." names the file.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error("it is {0}, not a regular file")]
    NotAFile(&'static str),
    #[error("it is larger than {} MiB, the limit for {}", .0.limit() / MIB, .0.what())]
    TooLarge(Kind),
}

impl From<Refused> for std::io::Error {
    fn from(refused: Refused) -> Self {
        let kind = match refused {
            Refused::NotAFile(_) => std::io::ErrorKind::InvalidInput,
            Refused::TooLarge(_) => std::io::ErrorKind::FileTooLarge,
        };
        std::io::Error::new(kind, refused)
    }
}

/// Refuses what is not a regular file of at most `kind`'s limit.
fn check_metadata(meta: &Metadata, kind: Kind) -> Result<(), Refused> {
    let file_type = meta.file_type();
    if !file_type.is_file() {
        return Err(Refused::NotAFile(match () {
            _ if file_type.is_dir() => "a directory",
            _ if file_type.is_fifo() => "a FIFO",
            _ if file_type.is_char_device() => "a character device",
            _ if file_type.is_block_device() => "a block device",
            _ if file_type.is_socket() => "a socket",
            _ => "something else",
        }));
    }
    if meta.len() > kind.limit() {
        return Err(Refused::TooLarge(kind));
    }
    Ok(())
}

/// Checks the file at `path` (following symlinks) without reading it: for files another
/// library reads (a kubeconfig).
pub fn check(path: &Path, kind: Kind) -> std::io::Result<()> {
    Ok(check_metadata(&std::fs::metadata(path)?, kind)?)
}

/// Opens `path` for reading once it is known to be a regular file within the limit; with
/// its size then.
pub fn open(path: &Path, kind: Kind) -> std::io::Result<(File, u64)> {
    check(path, kind)?;
    // Non-blocking, so that a FIFO swapped in since the check cannot hang the open; the
    // descriptor is checked again, as it is what gets read.
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    let meta = file.metadata()?;
    check_metadata(&meta, kind)?;
    Ok((file, meta.len()))
}

/// The bytes of the file at `path`, refused when it is not a regular file or holds more than
/// `kind`'s limit (also when it grows past it while being read).
pub fn read(path: &Path, kind: Kind) -> std::io::Result<Vec<u8>> {
    let (file, len) = open(path, kind)?;
    let limit = kind.limit();
    let mut bytes = Vec::with_capacity(len as usize + 1);
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(Refused::TooLarge(kind).into());
    }
    Ok(bytes)
}

/// [`read`], as UTF-8 text.
pub fn read_to_string(path: &Path, kind: Kind) -> std::io::Result<String> {
    String::from_utf8(read(path, kind)?).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn message(result: std::io::Result<Vec<u8>>) -> String {
        result.unwrap_err().to_string()
    }

    #[test]
    fn only_regular_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let link = dir.path().join("link");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        let socket = dir.path().join("sock");
        let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        let started = Instant::now();
        for (path, what) in [
            (Path::new("/dev/zero"), "a character device"),
            (Path::new("/dev/null"), "a character device"),
            (link.as_path(), "a character device"),
            (fifo.as_path(), "a FIFO"),
            (dir.path(), "a directory"),
            (socket.as_path(), "a socket"),
        ] {
            for kind in [
                Kind::Plugin,
                Kind::Catalog,
                Kind::Config,
                Kind::Document,
                Kind::Shard,
            ] {
                let err = message(read(path, kind));
                assert_eq!(err, format!("it is {what}, not a regular file"), "{path:?}");
            }
        }
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn a_file_past_its_kind_s_limit_is_refused_unread() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big");
        let file = File::create(&big).unwrap();
        // Sparse: the size is there, the bytes are not (a read would take long).
        file.set_len(Kind::Config.limit() + 1).unwrap();
        assert_eq!(
            message(read(&big, Kind::Config)),
            "it is larger than 16 MiB, the limit for a policy, pipeline or kubeconfig"
        );
        file.set_len(Kind::Plugin.limit() + 1).unwrap();
        assert!(message(read(&big, Kind::Plugin)).contains("64 MiB, the limit for a plugin"));
        let at_limit = dir.path().join("at-limit");
        std::fs::write(&at_limit, vec![b'x'; Kind::Config.limit() as usize]).unwrap();
        assert_eq!(
            read(&at_limit, Kind::Config).unwrap().len() as u64,
            Kind::Config.limit()
        );
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&at_limit, &link).unwrap();
        assert!(read(&link, Kind::Config).is_ok());
    }

    #[test]
    fn text_must_be_utf8_and_missing_files_say_so() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad");
        std::fs::write(&bad, [0xff, 0xfe]).unwrap();
        let err = read_to_string(&bad, Kind::Config).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
        let missing = read(&dir.path().join("missing"), Kind::Config).unwrap_err();
        assert_eq!(missing.kind(), std::io::ErrorKind::NotFound);
    }
}
