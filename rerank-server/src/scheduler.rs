//! The model thread and its queue.
//!
//! HTTP handlers never touch the model: they [`Scheduler::submit`] a job and await its
//! reply. One thread owns the reranker and runs [`Reranker::rerank_feed`] over the
//! queue: before every model step it admits waiting jobs (up to `max_active` queries in
//! progress), so requests that arrive together, or while others are being reranked,
//! share the model's batches. A job whose deadline passes while it waits is answered
//! 504 without being reranked. The queue is bounded: a submit beyond `max_queue`
//! requests (waiting or in progress) is refused at once, for a 503.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rerank::core::{candidates_from_docs, Candidate, Document, Query, QueryFeed, Ranking};
use rerank::model::Backend;
use rerank::Reranker;
use tokio::sync::oneshot;

use crate::error::{ApiError, Error};
use crate::metrics::Metrics;

/// How long an idle model thread waits, after a first request arrives, for others to
/// join its batch: a negligible delay against a model step of seconds.
const GATHER: Duration = Duration::from_millis(20);

/// What a job's reply carries.
pub type Reply = Result<Ranking, ApiError>;

struct Job {
    id: String,
    query: String,
    docs: Vec<String>,
    deadline: Instant,
    allowed: Duration,
    reply: oneshot::Sender<Reply>,
}

struct Queue {
    jobs: VecDeque<Job>,
    closed: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    arrived: Condvar,
    /// Jobs waiting or in progress.
    in_system: AtomicUsize,
    next_id: AtomicU64,
    max_queue: usize,
    max_active: usize,
    /// Mean seconds per finished job, times 1000 (for Retry-After).
    mean_ms: AtomicU64,
    metrics: Metrics,
}

/// The model thread and its bounded queue; see the module documentation.
pub struct Scheduler {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Scheduler {
    /// Starts the model thread: `build` makes the reranker there (so the model loads
    /// on the thread that uses it), and this returns once it has, or with its error.
    pub fn start<B, F>(
        build: F,
        max_queue: usize,
        max_active: usize,
        metrics: Metrics,
    ) -> Result<Scheduler, Error>
    where
        B: Backend + 'static,
        F: FnOnce() -> Result<Reranker<B>, String> + Send + 'static,
    {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue {
                jobs: VecDeque::new(),
                closed: false,
            }),
            arrived: Condvar::new(),
            in_system: AtomicUsize::new(0),
            next_id: AtomicU64::new(0),
            max_queue: max_queue.max(1),
            max_active: max_active.max(1),
            mean_ms: AtomicU64::new(0),
            metrics,
        });
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), String>>();
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name("rerank-model".into())
            .spawn(move || {
                let mut reranker = match build() {
                    Ok(r) => {
                        let _ = ready_tx.send(Ok(()));
                        r
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                model_loop(&mut reranker, &s);
            })
            .map_err(|e| Error::Reranker(format!("cannot start the model thread: {e}")))?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(Scheduler {
                shared,
                thread: Mutex::new(Some(thread)),
            }),
            Ok(Err(e)) => Err(Error::Reranker(e)),
            Err(_) => Err(Error::Reranker(
                "the model thread stopped while loading the reranker".into(),
            )),
        }
    }

    /// Queues a query and its documents (first-stage order); the receiver gets the
    /// ranking. Refused with 503 when the queue is full.
    pub fn submit(
        &self,
        query: String,
        docs: Vec<String>,
        deadline: Duration,
    ) -> Result<oneshot::Receiver<Reply>, ApiError> {
        let s = &self.shared;
        // Admission: one slot per request waiting or in progress.
        let mut n = s.in_system.load(Ordering::SeqCst);
        loop {
            if n >= s.max_queue {
                return Err(ApiError::overloaded(self.retry_after()));
            }
            match s
                .in_system
                .compare_exchange(n, n + 1, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => break,
                Err(now) => n = now,
            }
        }
        let (tx, rx) = oneshot::channel();
        let id = format!("req-{}", s.next_id.fetch_add(1, Ordering::SeqCst));
        {
            let mut q = s.queue.lock().unwrap_or_else(|p| p.into_inner());
            if q.closed {
                s.in_system.fetch_sub(1, Ordering::SeqCst);
                return Err(ApiError::overloaded(self.retry_after()));
            }
            q.jobs.push_back(Job {
                id,
                query,
                docs,
                deadline: Instant::now() + deadline,
                allowed: deadline,
                reply: tx,
            });
        }
        s.metrics
            .queue_depth
            .set(s.in_system.load(Ordering::SeqCst) as i64);
        s.arrived.notify_one();
        Ok(rx)
    }

    /// Requests waiting or in progress.
    pub fn depth(&self) -> usize {
        self.shared.in_system.load(Ordering::SeqCst)
    }

    /// Seconds a refused client should wait: the time the queue ahead would take at
    /// the mean time per request, at least 1.
    pub fn retry_after(&self) -> u64 {
        let s = &self.shared;
        let mean = s.mean_ms.load(Ordering::Relaxed) as f64 / 1000.0;
        let ahead = s.in_system.load(Ordering::SeqCst) as f64 / s.max_active as f64;
        (mean * ahead).ceil().clamp(1.0, 600.0) as u64
    }

    /// Stops taking jobs, lets the model finish the ones it has, and waits for it.
    pub fn shutdown(&self) {
        {
            let mut q = self.shared.queue.lock().unwrap_or_else(|p| p.into_inner());
            q.closed = true;
        }
        self.shared.arrived.notify_all();
        if let Some(t) = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = t.join();
        }
    }
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// What the model thread keeps about the jobs it has admitted.
struct Admitted {
    replies: HashMap<String, (oneshot::Sender<Reply>, Instant)>,
}

struct Feed<'a> {
    shared: &'a Shared,
    admitted: Rc<RefCell<Admitted>>,
}

impl QueryFeed for Feed<'_> {
    fn arrivals(&mut self, wait: bool) -> Option<Vec<(Query, Vec<Candidate>)>> {
        let s = self.shared;
        let mut q = s.queue.lock().unwrap_or_else(|p| p.into_inner());
        if wait {
            while q.jobs.is_empty() && !q.closed {
                q = s
                    .arrived
                    .wait_timeout(q, Duration::from_millis(500))
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
            }
        }
        if q.closed && q.jobs.is_empty() {
            return None;
        }
        let mut admitted = self.admitted.borrow_mut();
        let room = s.max_active.saturating_sub(admitted.replies.len());
        if wait {
            // The model was idle: the first request of a burst has arrived, and the
            // others of that burst (clients answered by the last batch sending their
            // next request) are a few milliseconds behind. Gather them into this
            // batch rather than start a long model step with one query and leave
            // them waiting for its end.
            let until = Instant::now() + GATHER;
            while q.jobs.len() < room && !q.closed {
                let now = Instant::now();
                if now >= until {
                    break;
                }
                q = s
                    .arrived
                    .wait_timeout(q, until - now)
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
            }
        }
        let mut out = Vec::new();
        let now = Instant::now();
        while out.len() < room {
            let Some(job) = q.jobs.pop_front() else { break };
            if job.deadline <= now {
                let _ = job
                    .reply
                    .send(Err(ApiError::timeout(job.allowed.as_secs_f64())));
                s.in_system.fetch_sub(1, Ordering::SeqCst);
                continue;
            }
            let docs = job
                .docs
                .into_iter()
                .enumerate()
                .map(|(i, text)| Document::new(i.to_string(), text));
            out.push((
                Query::new(job.id.clone(), job.query),
                candidates_from_docs(docs),
            ));
            admitted.replies.insert(job.id, (job.reply, now));
        }
        s.metrics.in_progress.set(admitted.replies.len() as i64);
        Some(out)
    }
}

fn model_loop<B: Backend>(reranker: &mut Reranker<B>, s: &Shared) {
    let admitted = Rc::new(RefCell::new(Admitted {
        replies: HashMap::new(),
    }));
    let mut feed = Feed {
        shared: s,
        admitted: admitted.clone(),
    };
    let result = reranker.rerank_feed(&mut feed, |r| {
        let Some((reply, started)) = admitted.borrow_mut().replies.remove(&r.query_id) else {
            return;
        };
        s.metrics.observe_ranking(&r);
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        // A running mean, weighted towards recent requests.
        let old = s.mean_ms.load(Ordering::Relaxed) as f64;
        let mean = if old == 0.0 { ms } else { 0.8 * old + 0.2 * ms };
        s.mean_ms.store(mean as u64, Ordering::Relaxed);
        let _ = reply.send(Ok(r)); // the client may have gone: nothing to do
        let left = s.in_system.fetch_sub(1, Ordering::SeqCst) - 1;
        s.metrics.queue_depth.set(left as i64);
        s.metrics
            .in_progress
            .set(admitted.borrow().replies.len() as i64);
    });
    // The reranker refused its configuration (checked before serving starts, so
    // this does not happen): fail whatever is left rather than leave it hanging.
    let message = match result {
        Ok(()) => "the server is shutting down".to_string(),
        Err(e) => format!("the reranker stopped: {e}"),
    };
    for (_, (reply, _)) in admitted.borrow_mut().replies.drain() {
        let _ = reply.send(Err(ApiError::internal(message.clone())));
    }
    let mut q = s.queue.lock().unwrap_or_else(|p| p.into_inner());
    for job in q.jobs.drain(..) {
        let _ = job.reply.send(Err(ApiError::internal(message.clone())));
    }
}
