//! The object store: one global resourceVersion counter, a bounded event history (so watches can
//! resume from a resourceVersion) and a broadcast fan-out of every change.
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use tokio::sync::broadcast;

use crate::error::ApiError;

/// How many past events a watch can resume from before it gets 410 Gone, by default.
pub const DEFAULT_HISTORY: usize = 10_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Pod,
    Service,
    Secret,
    /// batch/v1 Job.
    Job,
}

impl Kind {
    pub fn plural(self) -> &'static str {
        match self {
            Kind::Pod => "pods",
            Kind::Service => "services",
            Kind::Secret => "secrets",
            Kind::Job => "jobs",
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Kind::Pod => "Pod",
            Kind::Service => "Service",
            Kind::Secret => "Secret",
            Kind::Job => "Job",
        }
    }
    /// The API group ("" for core).
    pub fn group(self) -> &'static str {
        match self {
            Kind::Job => "batch",
            _ => "",
        }
    }
    /// `apiVersion` of the kind's objects and lists.
    pub fn api_version(self) -> &'static str {
        match self {
            Kind::Job => "batch/v1",
            _ => "v1",
        }
    }
    /// The resource as the API server names it in messages: `pods`, `jobs.batch`.
    pub fn qualified_plural(self) -> String {
        match self.group() {
            "" => self.plural().to_owned(),
            group => format!("{}.{group}", self.plural()),
        }
    }
    /// The kind as the API server names it in messages: `Pod`, `Job.batch`.
    pub fn qualified_name(self) -> String {
        match self.group() {
            "" => self.name().to_owned(),
            group => format!("{}.{group}", self.name()),
        }
    }
}

/// How many objects of each kind the store holds (pods being deleted gracefully included).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ObjectCounts {
    pub pods: usize,
    pub services: usize,
    pub secrets: usize,
    pub jobs: usize,
}

impl ObjectCounts {
    pub fn total(&self) -> usize {
        self.pods + self.services + self.secrets + self.jobs
    }
    fn count(&mut self, kind: Kind) {
        match kind {
            Kind::Pod => self.pods += 1,
            Kind::Service => self.services += 1,
            Kind::Secret => self.secrets += 1,
            Kind::Job => self.jobs += 1,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    pub kind: Kind,
    pub namespace: String,
    pub name: String,
}

impl Key {
    pub fn new(kind: Kind, namespace: &str, name: &str) -> Self {
        Key {
            kind,
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Event {
    pub rv: u64,
    pub key: Key,
    pub kind: EventType,
    pub object: Arc<Value>,
    /// The object before this change (for selector transitions in watches).
    pub prev: Option<Arc<Value>>,
}

struct State {
    rv: u64,
    objects: BTreeMap<Key, Value>,
    history: VecDeque<Event>,
    /// Every object ever created, by kind (deleted ones too).
    created: ObjectCounts,
}

/// Where a new watch starts.
pub enum WatchStart {
    /// Replay of the current objects as ADDED (no resourceVersion, or "0").
    Current(Vec<Arc<Value>>),
    /// Events after the given resourceVersion.
    Since(Vec<Event>),
}

pub struct Store {
    state: Mutex<State>,
    events: broadcast::Sender<Event>,
    history: usize,
}

impl Default for Store {
    fn default() -> Self {
        Store::with_history(DEFAULT_HISTORY)
    }
}

impl Store {
    pub fn with_history(history: usize) -> Self {
        let history = history.max(1);
        let (events, _) = broadcast::channel(history);
        Store {
            state: Mutex::new(State {
                rv: 1,
                objects: BTreeMap::new(),
                history: VecDeque::new(),
                created: ObjectCounts::default(),
            }),
            events,
            history,
        }
    }
}

fn set_rv(obj: &mut Value, rv: u64) {
    obj["metadata"]["resourceVersion"] = json!(rv.to_string());
}

impl Store {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn record(
        &self,
        st: &mut State,
        key: Key,
        kind: EventType,
        object: Value,
        prev: Option<Value>,
    ) {
        let ev = Event {
            rv: st.rv,
            key,
            kind,
            object: Arc::new(object),
            prev: prev.map(Arc::new),
        };
        if st.history.len() >= self.history {
            st.history.pop_front();
        }
        st.history.push_back(ev.clone());
        let _ = self.events.send(ev);
    }

    pub fn current_rv(&self) -> u64 {
        self.lock().rv
    }

    /// Stores a new object; metadata (uid, resourceVersion, creationTimestamp) is filled in here.
    pub fn create(&self, key: Key, obj: Value) -> Result<Value, ApiError> {
        self.create_with_uid(key, obj, uuid::Uuid::new_v4().to_string())
    }

    /// Stores a new object under a uid chosen before (a Job's selector names its own uid, so
    /// the server picks it before validating, as the API server fills it in before Validate).
    pub fn create_with_uid(
        &self,
        key: Key,
        mut obj: Value,
        uid: String,
    ) -> Result<Value, ApiError> {
        let mut st = self.lock();
        if st.objects.contains_key(&key) {
            return Err(ApiError::already_exists(key.kind, &key.name));
        }
        st.rv += 1;
        let rv = st.rv;
        let meta = &mut obj["metadata"];
        meta["uid"] = json!(uid);
        meta["namespace"] = json!(key.namespace);
        meta["creationTimestamp"] = json!(crate::now_rfc3339());
        set_rv(&mut obj, rv);
        st.objects.insert(key.clone(), obj.clone());
        st.created.count(key.kind);
        self.record(&mut st, key, EventType::Added, obj.clone(), None);
        Ok(obj)
    }

    /// How many objects were ever created, by kind.
    pub fn created(&self) -> ObjectCounts {
        self.lock().created
    }

    pub fn get(&self, key: &Key) -> Option<Value> {
        self.lock().objects.get(key).cloned()
    }

    /// Objects of a kind (in one namespace, or all) with the resourceVersion of the snapshot.
    pub fn list(&self, kind: Kind, namespace: Option<&str>) -> (Vec<Value>, u64) {
        let st = self.lock();
        let items = st
            .objects
            .iter()
            .filter(|(k, _)| k.kind == kind && namespace.is_none_or(|ns| k.namespace == ns))
            .map(|(_, v)| v.clone())
            .collect();
        (items, st.rv)
    }

    /// How many objects of each kind exist, across namespaces.
    pub fn counts(&self) -> ObjectCounts {
        let mut counts = ObjectCounts::default();
        for key in self.lock().objects.keys() {
            counts.count(key.kind);
        }
        counts
    }

    /// Every object of every kind (for the garbage collector).
    pub fn all(&self) -> Vec<(Key, Value)> {
        self.lock()
            .objects
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Changes an object in place; a change that leaves it equal emits no event.
    pub fn update<F: FnOnce(&mut Value)>(&self, key: &Key, change: F) -> Option<Value> {
        let mut st = self.lock();
        let mut obj = st.objects.get(key)?.clone();
        let before = obj.clone();
        change(&mut obj);
        if obj == before {
            return Some(obj);
        }
        st.rv += 1;
        let rv = st.rv;
        set_rv(&mut obj, rv);
        st.objects.insert(key.clone(), obj.clone());
        self.record(
            &mut st,
            key.clone(),
            EventType::Modified,
            obj.clone(),
            Some(before),
        );
        Some(obj)
    }

    pub fn remove(&self, key: &Key) -> Option<Value> {
        let mut st = self.lock();
        let mut obj = st.objects.remove(key)?;
        let before = obj.clone();
        st.rv += 1;
        let rv = st.rv;
        set_rv(&mut obj, rv);
        self.record(
            &mut st,
            key.clone(),
            EventType::Deleted,
            obj.clone(),
            Some(before),
        );
        Some(obj)
    }

    /// Every change from now on (for controllers, which then read the store again).
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// Subscribes and computes the starting point atomically so no event is missed or doubled.
    pub fn watch(
        &self,
        kind: Kind,
        namespace: Option<&str>,
        since: Option<u64>,
    ) -> Result<(WatchStart, broadcast::Receiver<Event>), ApiError> {
        let st = self.lock();
        let rx = self.events.subscribe();
        let in_scope = |k: &Key| k.kind == kind && namespace.is_none_or(|ns| k.namespace == ns);
        let start = match since {
            None | Some(0) => WatchStart::Current(
                st.objects
                    .iter()
                    .filter(|(k, _)| in_scope(k))
                    .map(|(_, v)| Arc::new(v.clone()))
                    .collect(),
            ),
            Some(rv) => {
                let oldest = st.history.front().map_or(st.rv, |e| e.rv);
                if rv + 1 < oldest && rv < st.rv {
                    return Err(ApiError::gone(rv, oldest));
                }
                WatchStart::Since(
                    st.history
                        .iter()
                        .filter(|e| e.rv > rv && in_scope(&e.key))
                        .cloned()
                        .collect(),
                )
            }
        };
        Ok((start, rx))
    }
}
