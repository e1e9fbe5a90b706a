//! batch/v1 Jobs: what the API server does to a new Job ([`spec`]), the job controller that
//! runs its pods and keeps its status ([`controller`]), the pods it makes from the template
//! ([`pods`]), the count of their ends (`tracker`), the Job's conditions (`conditions`) and the
//! compact index sets of Indexed Jobs ([`indexes`]).
mod conditions;
pub mod controller;
pub mod indexes;
pub mod pods;
pub mod spec;
mod tracker;

pub use controller::JobController;

pub const INDEXED: &str = "Indexed";
pub const NON_INDEXED: &str = "NonIndexed";

/// The labels and annotations the API server and the job controller put on a Job's pods.
pub mod labels {
    pub const JOB_NAME: &str = "batch.kubernetes.io/job-name";
    pub const LEGACY_JOB_NAME: &str = "job-name";
    pub const CONTROLLER_UID: &str = "batch.kubernetes.io/controller-uid";
    pub const LEGACY_CONTROLLER_UID: &str = "controller-uid";
    /// Both a label and an annotation of an Indexed Job's pods.
    pub const COMPLETION_INDEX: &str = "batch.kubernetes.io/job-completion-index";
}
