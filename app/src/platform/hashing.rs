//! Slots for expensive work (argon2 password hashing): each runs on a blocking thread, at most
//! one per core at a time, and a caller waits for a slot only so long before it is told the
//! server is busy. A burst of sign-ins then costs a short queue, never unbounded memory.

use std::{sync::Arc, time::Duration};

use thiserror::Error;
use tokio::sync::Semaphore;

/// How long a request waits for a free slot before it is refused.
pub const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(5);

#[derive(Debug, Error, PartialEq, Eq)]
pub enum SlotError {
    #[error("every hashing slot stayed busy")]
    Busy,
    #[error("the hashing thread failed")]
    Failed,
}

#[derive(Clone)]
pub struct HashingSlots {
    slots: Arc<Semaphore>,
    max_wait: Duration,
}

impl HashingSlots {
    pub fn new(slots: usize, max_wait: Duration) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(slots.max(1))),
            max_wait,
        }
    }

    /// One slot per core, waiting at most `DEFAULT_MAX_WAIT`.
    pub fn per_core() -> Self {
        Self::new(
            std::thread::available_parallelism().map_or(2, |n| n.get()),
            DEFAULT_MAX_WAIT,
        )
    }

    /// Runs `work` on a blocking thread once a slot is free.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, SlotError> {
        let slot = tokio::time::timeout(self.max_wait, self.slots.clone().acquire_owned())
            .await
            .map_err(|_| SlotError::Busy)?
            .map_err(|_| SlotError::Failed)?;
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            work()
        })
        .await
        .map_err(|_| SlotError::Failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_caller_that_finds_every_slot_taken_is_told_so() {
        let slots = HashingSlots::new(1, Duration::ZERO);
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let busy = slots.run(move || wait.recv().is_ok());
        let refused = slots.run(|| true);
        let (first, second) = tokio::join!(busy, async {
            let outcome = refused.await;
            let _ = release.send(());
            outcome
        });
        assert_eq!(first, Ok(true));
        assert_eq!(second, Err(SlotError::Busy));
    }
}
