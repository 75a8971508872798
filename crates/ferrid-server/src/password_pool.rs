//! A small, fixed pool of threads for password hashing. Argon2id costs
//! 19 MiB and tens of milliseconds per attempt; running it on its own few
//! threads (one per core) makes a flood of logins queue here instead of
//! occupying the general blocking pool, and keeps the memory it touches to
//! a few threads' worth. The queue is bounded: when it is full a new
//! request is refused at once (503 with `Retry-After`) rather than waiting
//! behind a flood.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::HttpResponse;

use crate::error::{Internal, PageError};

type Job = Box<dyn FnOnce() + Send>;

/// Why a job did not run.
#[derive(Debug)]
pub enum PoolError {
    /// Every thread is busy and the queue is full.
    Full,
    /// The pool failed (logged).
    Internal(Internal),
}

impl From<Internal> for PoolError {
    fn from(internal: Internal) -> Self {
        PoolError::Internal(internal)
    }
}

impl PoolError {
    /// The answer for a page: a full queue is a 503 with `Retry-After`
    /// naming the setting; a failure is the generic error page.
    pub fn respond(self) -> Result<HttpResponse, PageError> {
        match self {
            PoolError::Full => Ok(busy()),
            PoolError::Internal(internal) => Err(internal.into()),
        }
    }
}

/// The 503 page for a full password-hashing queue.
fn busy() -> HttpResponse {
    tracing::warn!("password hashing queue full; refusing a request");
    let mut response = PageError {
        status: StatusCode::SERVICE_UNAVAILABLE,
        title: "Busy".into(),
        message: "The server is checking too many passwords right now (passwords.hashing_queue)."
            .into(),
        hint: Some("Try again in a few seconds.".into()),
    }
    .response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
    response
}

/// The pool; cheap to share.
pub struct PasswordPool {
    jobs: mpsc::Sender<Job>,
    /// Jobs queued or running.
    pending: Arc<AtomicUsize>,
    /// Most jobs queued or running at once.
    capacity: usize,
}

/// Decrements the pending count when a job ends, even by panic.
struct Pending(Arc<AtomicUsize>);

impl Drop for Pending {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl PasswordPool {
    /// Starts `threads` worker threads that take at most `threads +
    /// queue` jobs at a time.
    pub fn new(threads: usize, queue_length: usize) -> std::io::Result<PasswordPool> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for index in 0..threads.max(1) {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("ferrid-passwords-{index}"))
                .spawn(move || loop {
                    // The lock is held only while taking a job.
                    let job = match queue.lock() {
                        Ok(queue) => queue.recv(),
                        Err(_) => break,
                    };
                    match job {
                        // A panicking job must not take its thread with
                        // it; its caller sees the dropped result.
                        Ok(job) => {
                            if std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)).is_err()
                            {
                                tracing::error!("a password job panicked");
                            }
                        }
                        Err(_) => break,
                    }
                })?;
        }
        Ok(PasswordPool {
            jobs,
            pending: Arc::default(),
            capacity: threads.max(1) + queue_length,
        })
    }

    /// Runs `work` on the pool and waits for its result without blocking
    /// the async executor.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PoolError> {
        let admitted = self
            .pending
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |pending| {
                (pending < self.capacity).then_some(pending + 1)
            });
        if admitted.is_err() {
            return Err(PoolError::Full);
        }
        let pending = Pending(self.pending.clone());
        let (done, result) = tokio::sync::oneshot::channel();
        let queued = std::time::Instant::now();
        self.jobs
            .send(Box::new(move || {
                crate::metrics::password_hash_waited(queued.elapsed());
                let output = work();
                // The slot is free before the answer goes out, so a caller
                // that has its answer can always run its next job.
                drop(pending);
                let _ = done.send(output);
            }))
            .map_err(|_| Internal::log("the password pool has stopped"))?;
        Ok(result
            .await
            .map_err(|_| Internal::log("a password job was dropped"))?)
    }

    /// Jobs queued or running now.
    pub fn pending(&self) -> usize {
        self.pending.load(Ordering::Relaxed)
    }

    /// [`run`](Self::run) for database work: a store error is logged and
    /// becomes [`PoolError::Internal`].
    pub async fn run_store<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> ferrid_store::StoreResult<T> + Send + 'static,
    ) -> Result<T, PoolError> {
        self.run(work)
            .await?
            .map_err(|error| PoolError::Internal(Internal::from(error)))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn runs_jobs_at_most_threads_at_a_time() {
        let pool = Arc::new(PasswordPool::new(2, 10).unwrap());
        let (running, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let jobs: Vec<_> = (0..6)
            .map(|job| {
                let (pool, running, peak) = (pool.clone(), running.clone(), peak.clone());
                tokio::spawn(async move {
                    pool.run(move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(30));
                        running.fetch_sub(1, Ordering::SeqCst);
                        job * 2
                    })
                    .await
                    .unwrap()
                })
            })
            .collect();
        let mut results = Vec::new();
        for job in jobs {
            results.push(job.await.unwrap());
        }
        assert_eq!(results, vec![0, 2, 4, 6, 8, 10]);
        assert_eq!(peak.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_full_queue_refuses_at_once() {
        let pool = Arc::new(PasswordPool::new(1, 1).unwrap());
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let wait = Arc::new(Mutex::new(wait));
        let blockers: Vec<_> = (0..2)
            .map(|_| {
                let (pool, wait) = (pool.clone(), wait.clone());
                tokio::spawn(async move {
                    pool.run(move || {
                        let _ = wait.lock().unwrap().recv();
                    })
                    .await
                })
            })
            .collect();
        while pool.pending.load(Ordering::SeqCst) < 2 {
            tokio::task::yield_now().await;
        }
        assert!(matches!(pool.run(|| ()).await, Err(PoolError::Full)));
        release.send(()).unwrap();
        release.send(()).unwrap();
        for blocker in blockers {
            assert!(blocker.await.unwrap().is_ok());
        }
        assert!(pool.run(|| 7).await.is_ok());
    }

    /// Regression: the slot was freed only after the answer was sent, so
    /// on a pool of one a caller could be refused right after its own job
    /// finished.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_finished_job_frees_its_slot_before_answering() {
        let pool = PasswordPool::new(1, 0).unwrap();
        for round in 0..2_000 {
            assert!(pool.run(|| ()).await.is_ok(), "refused in round {round}");
        }
    }
}
