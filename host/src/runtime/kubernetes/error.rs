//! What can go wrong running an image, each kind a user can act on, with its exit kind.

use super::wait::PodFailure;
use crate::runtime::ErrorKind;
use std::time::Duration;

/// Pull and configuration failures: the operator named something that cannot run (exit 2).
const OPERATOR_REASONS: &[&str] = &[
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "ErrImageNeverPull",
    "CreateContainerConfigError",
];

#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    #[error("no cluster configuration: {0}")]
    NoConfig(String),
    #[error("cluster configuration: {0}")]
    Config(String),
    #[error("{0}")]
    BadInput(String),
    #[error(
        "forbidden: cannot {verb} {resource} in namespace {namespace}: {message} \
         (examples/rbac.yaml lists the permissions mcp-probe needs)"
    )]
    Forbidden {
        verb: String,
        resource: String,
        namespace: String,
        message: String,
    },
    /// 422 or 400 to a create: the API refused what we sent.
    #[error("the API refused to {verb} {resource} in namespace {namespace}: {message}")]
    Refused {
        verb: String,
        resource: String,
        namespace: String,
        message: String,
        code: u16,
    },
    #[error("cannot {verb} {resource} in namespace {namespace}: {}", cause(source))]
    Api {
        verb: String,
        resource: String,
        namespace: String,
        source: Box<kube::Error>,
    },
    /// The pod will not serve: the image, the reason and the status message as the API said.
    #[error("image {image}: {reason}: {message} (pod {pod})")]
    Pod {
        image: String,
        reason: String,
        message: String,
        pod: String,
    },
    #[error("the pod {pod} disappeared {when}")]
    PodGone { pod: String, when: String },
    #[error("timed out after {after:?} (--timeout) while {phase}")]
    Timeout { phase: String, after: Duration },
    #[error("{0}")]
    Local(String),
    #[error("interrupted")]
    Interrupted,
}

impl KubeError {
    /// An API error of `verb` on `resource`, made specific where the status says more.
    pub fn api(err: kube::Error, verb: &str, resource: &str, namespace: &str) -> KubeError {
        let (verb, resource, namespace) =
            (verb.to_owned(), resource.to_owned(), namespace.to_owned());
        match err {
            kube::Error::Api(status) if status.code == 403 => KubeError::Forbidden {
                verb,
                resource,
                namespace,
                message: status.message,
            },
            kube::Error::Api(status)
                if matches!(status.code, 400 | 404 | 422) && verb == "create" =>
            {
                KubeError::Refused {
                    verb,
                    resource,
                    namespace,
                    message: status.message,
                    code: status.code,
                }
            }
            source => KubeError::Api {
                verb,
                resource,
                namespace,
                source: Box::new(source),
            },
        }
    }

    pub fn from_failure(image: &str, namespace: &str, pod: &str, failure: PodFailure) -> KubeError {
        let message = if failure.message.is_empty() {
            "(no message)".to_owned()
        } else {
            failure.message
        };
        KubeError::Pod {
            image: image.to_owned(),
            reason: failure.reason,
            message,
            pod: format!("{namespace}/{pod}"),
        }
    }

    /// True when the container ran and ended (not a pull or configuration failure).
    pub fn is_terminated(&self) -> bool {
        matches!(self, KubeError::Pod { reason, .. } if reason == "Terminated" || reason == "CrashLoopBackOff")
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            KubeError::NoConfig(_)
            | KubeError::Config(_)
            | KubeError::BadInput(_)
            | KubeError::Forbidden { .. }
            | KubeError::Refused { .. } => ErrorKind::BadInput,
            KubeError::Pod { reason, .. } if OPERATOR_REASONS.contains(&reason.as_str()) => {
                ErrorKind::BadInput
            }
            KubeError::Interrupted => ErrorKind::Interrupted,
            _ => ErrorKind::Failure,
        }
    }
}

/// What a kube error says, with the cause a failed connection holds deep in its source chain
/// named (hyper's own message is only `client error (Connect)`).
pub fn cause(err: &kube::Error) -> String {
    let chain = messages(err);
    match tls_failure(&chain) {
        Some(named) => named,
        // The outermost message, then what lies under it that it does not already say.
        None => chain.join(": "),
    }
}

/// Whether the connection failed in TLS (a certificate, or no TLS at all): trying again
/// meets the same.
pub fn is_tls_failure(err: &kube::Error) -> bool {
    tls_failure(&messages(err)).is_some()
}

/// The messages down the error's source chain, each once: a level whose text its parent
/// already holds is left out.
fn messages(err: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut chain: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(err) = next {
        let text = err.to_string();
        if !chain.iter().any(|outer| outer.contains(&text)) {
            chain.push(text);
        }
        next = err.source();
    }
    chain
}

/// A TLS failure named from rustls' message in the chain: an untrusted or wrong certificate,
/// or a server that answered an HTTPS request in plain HTTP.
fn tls_failure(chain: &[String]) -> Option<String> {
    let plain_http = ["InvalidContentType", "corrupt message of type"];
    if chain
        .iter()
        .any(|m| plain_http.iter().any(|needle| m.contains(needle)))
    {
        return Some(
            "TLS handshake failed: the server answered plain HTTP to an HTTPS request \
             (is the kubeconfig's server http://?)"
                .into(),
        );
    }
    let tls = chain.iter().find(|m| {
        m.contains("invalid peer certificate")
            || m.contains("certificate")
            || m.contains("peer is incompatible")
            || m.contains("received fatal alert")
            || m.contains("HandshakeFailure")
    })?;
    Some(format!("TLS handshake failed: {tls}"))
}
