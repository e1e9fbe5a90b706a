//! Object names and labels. One name serves the Pod (a DNS-1123 subdomain), its Secret (the
//! same) and its Service (a DNS-1035 label): lowercase alphanumerics and `-`, starting with a
//! letter, ending alphanumeric, at most 63 characters.

/// The longest DNS-1035 label.
pub const MAX_NAME: usize = 63;
/// Every name starts with this: it makes the name begin with a letter and says who made it.
pub const PREFIX: &str = "mcp-probe-";
/// Random characters at the end of each name.
pub const SUFFIX_LEN: usize = 8;

/// Labels and annotations every object carries.
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "mcp-probe");
pub const RUN_ID_LABEL: &str = "mcp-probe.dev/run-id";
/// The pod's own label: the Service selects exactly this pod.
pub const POD_LABEL: &str = "mcp-probe.dev/pod";
pub const CREATED_AT_ANNOTATION: &str = "mcp-probe.dev/created-at";
pub const IMAGE_ANNOTATION: &str = "mcp-probe.dev/image";

/// The repository's last path segment of an image reference: no registry, no tag, no digest.
/// `registry.example:5000/team/My_Server:1.2@sha256:…` → `My_Server`.
pub fn repository_name(image: &str) -> &str {
    let without_digest = image.split('@').next().unwrap_or(image);
    let last = without_digest.rsplit('/').next().unwrap_or(without_digest);
    last.split(':').next().unwrap_or(last)
}

/// A name valid for every kind: `mcp-probe-<repository>-<suffix>`, the repository part
/// lowercased, other characters turned into `-`, runs of `-` joined, cut to fit 63.
/// `suffix` must be lowercase alphanumerics (see [`random_suffix`]).
pub fn object_name(image: &str, suffix: &str) -> String {
    let mut repo = String::new();
    for c in repository_name(image).chars() {
        let c = c.to_ascii_lowercase();
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() {
            c
        } else {
            '-'
        };
        if !(c == '-' && (repo.is_empty() || repo.ends_with('-'))) {
            repo.push(c);
        }
    }
    let room = MAX_NAME - PREFIX.len() - 1 - suffix.len();
    repo.truncate(room);
    let repo = repo.trim_end_matches('-');
    if repo.is_empty() {
        format!("{PREFIX}{suffix}")
    } else {
        format!("{PREFIX}{repo}-{suffix}")
    }
}

/// `len` random lowercase alphanumerics from the OS's generator.
pub fn random_suffix(len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = vec![0u8; len];
    if getrandom::fill(&mut bytes).is_err() {
        // No OS randomness (never seen on Linux): time and pid still make clashes unlikely,
        // and a clash is retried under a new name anyway.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let seed = nanos ^ (u128::from(std::process::id()) << 64);
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = (seed >> ((i * 7) % 120)) as u8;
        }
    }
    bytes
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect()
}

/// Why `name` is not a DNS-1035 label (which also makes it a DNS-1123 subdomain), if it is not.
pub fn dns1035_label_error(name: &str) -> Option<&'static str> {
    let bytes = name.as_bytes();
    if bytes.is_empty() || bytes.len() > MAX_NAME {
        return Some("must be 1 to 63 characters");
    }
    if !bytes[0].is_ascii_lowercase() {
        return Some("must start with a lowercase letter");
    }
    if !bytes[bytes.len() - 1].is_ascii_alphanumeric() {
        return Some("must end with a letter or digit");
    }
    if !bytes
        .iter()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
    {
        return Some("may contain only lowercase letters, digits and '-'");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(image: &str) -> String {
        let n = object_name(image, "abc12345");
        assert_eq!(dns1035_label_error(&n), None, "{image:?} gave {n:?}");
        assert!(n.ends_with("-abc12345") || n == "mcp-probe-abc12345", "{n}");
        n
    }

    #[test]
    fn nasty_references_give_valid_names() {
        assert_eq!(
            name("ghcr.io/Org/My_Server:1.2"),
            "mcp-probe-my-server-abc12345"
        );
        assert_eq!(
            name("registry.example:5000/team/srv:v1"),
            "mcp-probe-srv-abc12345"
        );
        assert_eq!(
            name("srv@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
            "mcp-probe-srv-abc12345"
        );
        assert_eq!(
            name("localhost:5000/a/b.c.d:1@sha256:00"),
            "mcp-probe-b-c-d-abc12345"
        );
        assert_eq!(name("9lives"), "mcp-probe-9lives-abc12345");
        assert_eq!(name("___"), "mcp-probe-abc12345");
        assert_eq!(name("UPPER-CASE--"), "mcp-probe-upper-case-abc12345");
        assert_eq!(name("x/ünïcode:1"), "mcp-probe-n-code-abc12345");
        let long = format!("r/{}:t", "a_b".repeat(70));
        let n = name(&long);
        assert!(n.len() <= MAX_NAME, "{n} is {} long", n.len());
        assert!(!n.contains("--"), "{n}");
    }

    #[test]
    fn a_long_name_never_ends_in_a_dash_before_the_suffix() {
        // 44 characters fit; the cut lands right after a separator.
        let image = format!("{}_tail", "a".repeat(43));
        let n = name(&image);
        assert!(!n.contains("--"), "{n}");
        assert_eq!(n.len(), PREFIX.len() + 43 + 1 + 8);
    }

    #[test]
    fn suffixes_are_random_lowercase_alphanumerics() {
        let a = random_suffix(SUFFIX_LEN);
        let b = random_suffix(SUFFIX_LEN);
        assert_eq!(a.len(), SUFFIX_LEN);
        assert_ne!(a, b);
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
    }

    #[test]
    fn the_label_check_refuses_what_the_api_server_refuses() {
        assert!(dns1035_label_error("9abc").is_some());
        assert!(dns1035_label_error("abc-").is_some());
        assert!(dns1035_label_error("a.b").is_some());
        assert!(dns1035_label_error(&"a".repeat(64)).is_some());
        assert!(dns1035_label_error("a-1").is_none());
    }
}
