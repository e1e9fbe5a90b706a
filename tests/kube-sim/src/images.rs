//! The image table: which local command plays a container image.
use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;

use crate::error::SimError;

/// One image: its entrypoint (`command`) and default arguments (`args`), like a Docker image's
/// ENTRYPOINT and CMD, which a container's `command` and `args` override the same way.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Image {
    pub command: Vec<String>,
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default)]
    pub env: HashMap<String, String>,
    /// The image's USER is root (uid 0): pods with `runAsNonRoot: true` and no numeric
    /// `runAsUser` fail to start it. Shorthand for `user = "0"`.
    #[serde(default)]
    pub runs_as_root: bool,
    /// The image's USER as Docker records it: `"0"`, `"1000"`, `"1000:1000"`, `"node"`. A name
    /// cannot be verified by `runAsNonRoot` (CreateContainerConfigError) unless the pod sets a
    /// numeric `runAsUser`. Unset (and not `runs_as_root`): a numeric non-root user.
    #[serde(default)]
    pub user: Option<String>,
    /// Time between "ContainerCreating" and the process start.
    #[serde(default)]
    pub start_delay_ms: u64,
    /// The digest kubelets report as `imageID`: `sha256:<hex>` or a whole `repo@sha256:<hex>`
    /// (default: a digest derived from the reference).
    #[serde(default)]
    pub image_id: Option<String>,
}

/// Why a runtime cannot parse `reference` (`None` when it can): uppercase in the repository,
/// whitespace, an empty name.
pub fn invalid_reference(reference: &str) -> Option<String> {
    let repo = reference.split('@').next().unwrap_or(reference);
    let last_slash = repo.rfind('/').map_or(0, |i| i + 1);
    let path = match repo[last_slash..].find(':') {
        Some(colon) => &repo[..last_slash + colon],
        None => repo,
    };
    // The first segment may be a registry host (with a port, any case).
    let first = path.split('/').next().unwrap_or_default();
    let registry =
        path.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    let name = if registry {
        &path[first.len() + 1..]
    } else {
        path
    };
    if reference.trim().is_empty() || reference.chars().any(char::is_whitespace) || name.is_empty()
    {
        return Some(String::new());
    }
    if name.chars().any(|c| c.is_ascii_uppercase()) {
        return Some(format!(": repository name ({name}) must be lowercase"));
    }
    None
}

pub use crate::reference::image_id;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageTable {
    #[serde(default)]
    pub images: HashMap<String, Image>,
}

impl ImageTable {
    pub fn load(path: &Path) -> Result<Self, SimError> {
        let text = std::fs::read_to_string(path).map_err(|source| SimError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text).map_err(|message| SimError::Parse {
            what: "image table",
            path: path.display().to_string(),
            message,
        })
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        let table: ImageTable = toml::from_str(text).map_err(|e| e.message().to_owned())?;
        if let Some((name, _)) = table.images.iter().find(|(_, i)| i.command.is_empty()) {
            return Err(format!("image {name:?} has an empty command"));
        }
        use crate::kubelet::security::{image_user, ImageUser};
        let contradicts = |i: &Image| i.runs_as_root && image_user(i) != ImageUser::Uid(0);
        if let Some((name, i)) = table.images.iter().find(|(_, i)| contradicts(i)) {
            return Err(format!(
                "image {name:?}: runs_as_root = true contradicts user = {:?}",
                i.user.as_deref().unwrap_or_default()
            ));
        }
        Ok(table)
    }

    pub fn insert(&mut self, reference: &str, image: Image) {
        self.images.insert(reference.to_owned(), image);
    }

    /// Looks an image up by its reference; `name` also matches `name:latest` and
    /// `docker.io/library/name:latest`, as a runtime would normalize it.
    pub fn resolve(&self, reference: &str) -> Option<&Image> {
        let short = reference
            .strip_prefix("docker.io/library/")
            .unwrap_or(reference);
        let has_tag = short
            .rsplit('/')
            .next()
            .is_some_and(|last| last.contains(':') || last.contains('@'));
        let tagged = if has_tag {
            short.to_owned()
        } else {
            format!("{short}:latest")
        };
        let untagged = short.strip_suffix(":latest").unwrap_or(short);
        [reference, short, tagged.as_str(), untagged]
            .iter()
            .find_map(|r| self.images.get(*r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_normalizes_references() {
        let t = ImageTable::parse(
            r#"
            [images."echo:1"]
            command = ["cat"]
            [images.busybox]
            command = ["sh", "-c"]
            args = ["echo hi"]
            runs_as_root = true
            start_delay_ms = 5
            "#,
        )
        .unwrap();
        assert!(t.resolve("echo:1").is_some());
        assert!(
            t.resolve("docker.io/library/busybox:latest")
                .unwrap()
                .runs_as_root
        );
        assert!(t.resolve("busybox:latest").is_some());
        assert!(t.resolve("echo:2").is_none());
        assert!(ImageTable::parse("[images.x]\ncommand = []").is_err());
        assert!(ImageTable::parse("[images.x]\ncmd = [\"a\"]").is_err());
    }
}
