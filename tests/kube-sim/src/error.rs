//! Errors: `ApiError` is what the API answers (a metav1 `Status`), `SimError` is what the
//! library returns to its callers.
use serde_json::{json, Value};

use crate::store::Kind;

/// Errors of the simulator as a library (configuration, start-up).
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("invalid {what} file {path}: {message}")]
    Parse {
        what: &'static str,
        path: String,
        message: String,
    },
    #[error("cannot listen on 127.0.0.1:{port}: {source}")]
    Bind { port: u16, source: std::io::Error },
    #[error("cannot write kubeconfig: {0}")]
    Kubeconfig(std::io::Error),
}

/// An API error, answered as a `Status` object with its HTTP code.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code} {reason}: {message}")]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    pub details: Option<Value>,
}

/// Status `details` with the kind's API group, when it has one (`batch` for a Job).
fn grouped(kind: Kind, mut details: Value) -> Value {
    if !kind.group().is_empty() {
        details["group"] = json!(kind.group());
    }
    details
}

impl ApiError {
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    fn with_details(mut self, kind: Kind, name: &str) -> Self {
        self.details = Some(grouped(kind, json!({"name": name, "kind": kind.plural()})));
        self
    }

    /// 429, as API priority and fairness answers a request it will not take now.
    pub fn too_many_requests(retry_after_secs: u32) -> Self {
        let mut e = Self::new(
            429,
            "TooManyRequests",
            "Too many requests, please try again later.",
        );
        e.details = Some(json!({"retryAfterSeconds": retry_after_secs}));
        e
    }

    /// The API server's answer for a path it does not serve at all.
    pub fn no_such_resource() -> Self {
        Self::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
    }

    pub fn not_found(kind: Kind, name: &str) -> Self {
        Self::new(
            404,
            "NotFound",
            format!("{} \"{name}\" not found", kind.qualified_plural()),
        )
        .with_details(kind, name)
    }

    pub fn already_exists(kind: Kind, name: &str) -> Self {
        Self::new(
            409,
            "AlreadyExists",
            format!("{} \"{name}\" already exists", kind.qualified_plural()),
        )
        .with_details(kind, name)
    }

    /// 422 with one cause per invalid field, as the API server reports validation failures.
    /// Each cause is `(field, message)`, the message starting with its error type as
    /// apimachinery writes it ("Invalid value: …", "Required value: …", "Forbidden: …").
    pub fn invalid(kind: Kind, name: &str, causes: Vec<(String, String)>) -> Self {
        let summary: Vec<String> = causes.iter().map(|(f, m)| format!("{f}: {m}")).collect();
        // An aggregate of several errors prints as a bracketed list.
        let summary = match summary.as_slice() {
            [one] => one.clone(),
            many => format!("[{}]", many.join(", ")),
        };
        let mut err = Self::new(
            422,
            "Invalid",
            format!("{} \"{name}\" is invalid: {summary}", kind.qualified_name()),
        );
        err.details = Some(grouped(
            kind,
            json!({
                "name": name,
                "kind": kind.name(),
                "causes": causes.iter().map(|(f, m)| json!({
                    "reason": cause_reason(m), "message": m, "field": f
                })).collect::<Vec<_>>(),
            }),
        ));
        err
    }

    /// 409 for a write made against an older resourceVersion.
    pub fn conflict(kind: Kind, name: &str) -> Self {
        Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; \
                 please apply your changes to the latest version and try again",
                kind.qualified_plural()
            ),
        )
        .with_details(kind, name)
    }

    /// 404 for a namespace that does not exist (the simulator's: one whose name is invalid).
    pub fn namespace_not_found(namespace: &str) -> Self {
        let mut e = Self::new(
            404,
            "NotFound",
            format!("namespaces \"{namespace}\" not found"),
        );
        e.details = Some(json!({"name": namespace, "kind": "namespaces"}));
        e
    }

    pub fn forbidden(verb: &str, group: &str, resource: &str, namespace: &str, name: &str) -> Self {
        let (res, sub) = resource.split_once('/').unwrap_or((resource, ""));
        let what = if sub.is_empty() {
            res.to_owned()
        } else {
            format!("{res}/{sub}")
        };
        // The subject names the resource with its group: `jobs.batch "NAME"`.
        let qualified = match group {
            "" => res.to_owned(),
            group => format!("{res}.{group}"),
        };
        let subject = match (name.is_empty(), sub.is_empty()) {
            (true, true) => qualified,
            (true, false) => format!("{qualified}/{sub}"),
            (false, _) => format!("{qualified} \"{name}\""),
        };
        Self::new(
            403,
            "Forbidden",
            format!(
                "{subject} is forbidden: User \"system:serviceaccount:kube-sim:tester\" cannot \
                 {verb} resource \"{what}\" in API group \"{group}\" in the namespace \"{namespace}\""
            ),
        )
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "InternalError", message)
    }

    pub fn gone(rv: u64, oldest: u64) -> Self {
        Self::new(
            410,
            "Expired",
            format!("too old resource version: {rv} ({oldest})"),
        )
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )
    }

    /// The `Status` object of this error.
    pub fn status(&self) -> Value {
        let mut s = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(d) = &self.details {
            s["details"] = d.clone();
        }
        s
    }
}

/// A cause's `reason` (metav1.CauseType) from its message's error type.
fn cause_reason(message: &str) -> &'static str {
    const TYPES: &[(&str, &str)] = &[
        ("Required value", "FieldValueRequired"),
        ("Forbidden", "FieldValueForbidden"),
        ("Too long", "FieldValueTooLong"),
        ("Too many", "FieldValueTooMany"),
        ("Unsupported value", "FieldValueNotSupported"),
        ("Duplicate value", "FieldValueDuplicate"),
        ("Not found", "FieldValueNotFound"),
        ("Internal error", "InternalError"),
    ];
    TYPES
        .iter()
        .find(|(prefix, _)| message.starts_with(prefix))
        .map_or("FieldValueInvalid", |(_, reason)| reason)
}
