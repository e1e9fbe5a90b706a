//! Image references as a container runtime normalizes them (docker.io, `library/`, `:latest`)
//! and the `image` / `imageID` a kubelet reports from them.
use crate::images::Image;

/// A reference split the way distribution's `ParseNormalizedNamed` splits it.
#[derive(Debug, PartialEq, Eq)]
pub struct Normalized {
    /// Registry-qualified repository: `docker.io/library/busybox`, `ghcr.io/org/app`.
    pub repository: String,
    pub tag: Option<String>,
    /// `sha256:<hex>` when the reference names a digest.
    pub digest: Option<String>,
}

pub fn normalize(reference: &str) -> Normalized {
    let (name, digest) = match reference.split_once('@') {
        Some((n, d)) => (n, Some(d.to_owned())),
        None => (reference, None),
    };
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    let (path, tag) = match name[last_slash..].find(':') {
        Some(colon) => (
            &name[..last_slash + colon],
            Some(name[last_slash + colon + 1..].to_owned()),
        ),
        None => (name, None),
    };
    let first = path.split('/').next().unwrap_or_default();
    let has_domain =
        path.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    let (domain, rest) = if has_domain {
        (first, &path[first.len() + 1..])
    } else {
        ("docker.io", path)
    };
    let domain = if domain == "index.docker.io" {
        "docker.io"
    } else {
        domain
    };
    let repository = if domain == "docker.io" && !rest.contains('/') {
        format!("{domain}/library/{rest}")
    } else {
        format!("{domain}/{rest}")
    };
    let tag = match (&tag, &digest) {
        (None, None) => Some("latest".to_owned()),
        _ => tag,
    };
    Normalized {
        repository,
        tag,
        digest,
    }
}

/// The `image` of a started container's status: the normalized reference
/// (`docker.io/library/busybox:latest` for `busybox`).
pub fn status_image(reference: &str) -> String {
    let n = normalize(reference);
    match (&n.tag, &n.digest) {
        (_, Some(digest)) => format!("{}@{digest}", n.repository),
        (Some(tag), None) => format!("{}:{tag}", n.repository),
        (None, None) => n.repository,
    }
}

/// The `imageID` a container status reports: `repository@sha256:<hex>`. The digest is the
/// reference's own, else the table's `image_id` (a bare `sha256:…` or a whole `repo@sha256:…`),
/// else the sha256 of the normalized reference (stable across runs).
pub fn image_id(reference: &str, image: &Image) -> String {
    let n = normalize(reference);
    if let Some(digest) = &n.digest {
        return format!("{}@{digest}", n.repository);
    }
    let digest = match image.image_id.as_deref() {
        Some(id) if id.contains('@') => return id.to_owned(),
        Some(id) => id.to_owned(),
        None => format!(
            "sha256:{}",
            crate::sha256::hex(status_image(reference).as_bytes())
        ),
    };
    format!("{}@{digest}", n.repository)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_normalize_like_a_runtime() {
        assert_eq!(status_image("busybox"), "docker.io/library/busybox:latest");
        assert_eq!(
            status_image("busybox:1.36"),
            "docker.io/library/busybox:1.36"
        );
        assert_eq!(status_image("org/app:2"), "docker.io/org/app:2");
        assert_eq!(status_image("ghcr.io/org/app:2"), "ghcr.io/org/app:2");
        assert_eq!(
            status_image("localhost:5000/app"),
            "localhost:5000/app:latest"
        );
        assert_eq!(
            status_image("index.docker.io/busybox"),
            "docker.io/library/busybox:latest"
        );
        let pinned = format!("app@sha256:{}", "a".repeat(64));
        assert_eq!(
            status_image(&pinned),
            format!("docker.io/library/app@sha256:{}", "a".repeat(64))
        );
    }

    #[test]
    fn image_ids_are_repository_digests() {
        let plain = Image::default();
        let id = image_id("busybox", &plain);
        assert_eq!(id, image_id("docker.io/library/busybox:latest", &plain));
        let (repo, hex) = id.split_once("@sha256:").unwrap();
        assert_eq!(repo, "docker.io/library/busybox");
        assert_eq!(hex.len(), 64);
        assert_ne!(id, image_id("busybox:1", &plain));
        let set = Image {
            image_id: Some(format!("sha256:{}", "b".repeat(64))),
            ..Image::default()
        };
        assert_eq!(
            image_id("ghcr.io/o/a:1", &set),
            format!("ghcr.io/o/a@sha256:{}", "b".repeat(64))
        );
        let full = Image {
            image_id: Some("quay.io/x/y@sha256:00".into()),
            ..Image::default()
        };
        assert_eq!(image_id("y:1", &full), "quay.io/x/y@sha256:00");
        let pinned = format!("app@sha256:{}", "c".repeat(64));
        assert_eq!(
            image_id(&pinned, &set),
            format!("docker.io/library/app@sha256:{}", "c".repeat(64))
        );
    }
}
