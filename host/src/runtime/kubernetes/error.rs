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
    #[error("cannot {verb} {resource} in namespace {namespace}: {source}")]
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
