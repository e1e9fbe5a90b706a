//! Job conditions as the job controller sets them: an interim one (SuccessCriteriaMet,
//! FailureTarget) as soon as the outcome is known, the terminal one (Complete, Failed) once no
//! pod of the Job is left running or terminating, with the same reason and message.
use serde_json::{json, Value};

pub(super) fn find_condition<'a>(conditions: &'a [Value], kind: &str) -> Option<&'a Value> {
    conditions
        .iter()
        .find(|c| c["type"] == kind && c["status"] == "True")
}

/// ensureJobConditionStatus: sets a condition, its times moving only when it changes.
pub(super) fn ensure_condition(
    conditions: &mut Vec<Value>,
    kind: &str,
    status: bool,
    reason: &str,
    message: &str,
) {
    let status = if status { "True" } else { "False" };
    let now = crate::now_rfc3339();
    let fresh = json!({
        "type": kind, "status": status, "reason": reason, "message": message,
        "lastProbeTime": now, "lastTransitionTime": now,
    });
    match conditions.iter_mut().find(|c| c["type"] == kind) {
        Some(c) if c["status"] == status && c["reason"] == reason && c["message"] == message => {}
        Some(c) => *c = fresh,
        None => conditions.push(fresh),
    }
}

/// The condition a Job is finishing with, interim or terminal.
pub(super) struct Finish {
    /// SuccessCriteriaMet or FailureTarget.
    pub(super) interim: &'static str,
    /// Complete or Failed.
    pub(super) terminal: &'static str,
    pub(super) reason: String,
    pub(super) message: String,
}

impl Finish {
    pub(super) fn success() -> Self {
        Finish {
            interim: "SuccessCriteriaMet",
            terminal: "Complete",
            reason: "CompletionsReached".into(),
            message: "Reached expected number of succeeded pods".into(),
        }
    }
    pub(super) fn failure(reason: &str, message: &str) -> Self {
        Finish {
            interim: "FailureTarget",
            terminal: "Failed",
            reason: reason.into(),
            message: message.into(),
        }
    }
    pub(super) fn from_interim(c: &Value, success: bool) -> Self {
        let text = |f: &str| c[f].as_str().unwrap_or_default();
        let (reason, message) = (text("reason"), text("message"));
        match success {
            true => Finish {
                reason: reason.into(),
                message: message.into(),
                ..Finish::success()
            },
            false => Finish::failure(reason, message),
        }
    }
    pub(super) fn is_failure(&self) -> bool {
        self.terminal == "Failed"
    }
}
