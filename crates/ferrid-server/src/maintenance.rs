//! The background thread that, every key refresh interval, runs the
//! scheduled key work, picks up key changes made elsewhere, deletes
//! expired rows, and delivers due back-channel logouts.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::state::AppState;

/// Runs until stopped or dropped.
pub struct KeyMaintenance {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// How long dropping a [`KeyMaintenance`] waits for the running round.
const DROP_WAIT: Duration = Duration::from_secs(10);

impl KeyMaintenance {
    /// Starts the thread. Work runs off the async executor: it touches the
    /// database and may generate keys.
    pub fn spawn(state: AppState) -> std::io::Result<KeyMaintenance> {
        let (stop, stopped) = mpsc::channel::<()>();
        let interval =
            Duration::from_secs(u64::try_from(state.key_policy.refresh_interval).unwrap_or(10));
        let thread = std::thread::Builder::new()
            .name("ferrid-keys".into())
            .spawn(move || {
                // Deliveries are async HTTP: a small runtime of this thread's own.
                let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    Ok(runtime) => runtime,
                    Err(error) => {
                        tracing::error!(%error, "cannot start the background runtime");
                        return;
                    }
                };
                // Wakes every interval; a stop message or a dropped sender ends it.
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
                    if let Err(error) = state.maintain_keys() {
                        tracing::error!(%error, "key maintenance failed; retrying next interval");
                    }
                    state.rate_limiter.retain_recent();
                    if let Err(error) = state.clean_up() {
                        tracing::error!(%error, "cleanup of expired rows failed; retrying next interval");
                    }
                    if let Err(error) = runtime.block_on(state.deliver_logouts()) {
                        tracing::error!(?error, "back-channel logout delivery failed");
                    }
                    if let Err(error) = state.refresh_dashboard_state() {
                        tracing::error!(%error, "token counts or branding not refreshed; retrying next interval");
                    }
                }
                // What was counted since the last tick is not lost on a
                // clean stop.
                if let Err(error) = state.token_counter.flush(&state.store, state.now()) {
                    tracing::error!(%error, "token counts not written at shutdown");
                }
            })?;
        Ok(KeyMaintenance {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl KeyMaintenance {
    /// Stops the thread, waiting at most `within` for the round it is in
    /// (which may be stuck on a hung database: it is then left behind,
    /// and ends with the process). Returns whether it stopped in time.
    pub fn stop(mut self, within: Duration) -> bool {
        self.finish(within)
    }

    fn finish(&mut self, within: Duration) -> bool {
        drop(self.stop.take());
        let Some(thread) = self.thread.take() else {
            return true;
        };
        let deadline = std::time::Instant::now() + within;
        while !thread.is_finished() {
            if std::time::Instant::now() >= deadline {
                tracing::warn!(
                    seconds = within.as_secs(),
                    "background jobs did not stop in time; leaving them"
                );
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = thread.join();
        true
    }
}

impl Drop for KeyMaintenance {
    fn drop(&mut self) {
        let _ = self.finish(DROP_WAIT);
    }
}
