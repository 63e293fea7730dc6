//! A circuit breaker: after `threshold` consecutive failures a ministry is left alone
//! for `cooldown`, so a sync does not hammer a system that is down (nor wait out every
//! timeout against it). After the cool-down one trial request goes through (half
//! open); its success closes the circuit, its failure opens it again.
//!
//! Written here rather than taken from a crate: it is a dozen lines of state, and the
//! crates on offer bring their own executors and futures types.

use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct CircuitBreaker {
    threshold: u32,
    cooldown: Duration,
    state: Mutex<State>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed { failures: u32 },
    Open { since: Instant },
    HalfOpen,
}

impl CircuitBreaker {
    pub fn new(threshold: u32, cooldown: Duration) -> Self {
        Self {
            threshold: threshold.max(1),
            cooldown,
            state: Mutex::new(State::Closed { failures: 0 }),
        }
    }

    /// Whether a request may go now. An open circuit past its cool-down lets one
    /// trial through.
    pub fn allow(&self) -> bool {
        let mut state = self.lock();
        match *state {
            State::Closed { .. } => true,
            State::HalfOpen => false,
            State::Open { since } if since.elapsed() >= self.cooldown => {
                *state = State::HalfOpen;
                true
            }
            State::Open { .. } => false,
        }
    }

    pub fn record_success(&self) {
        *self.lock() = State::Closed { failures: 0 };
    }

    pub fn record_failure(&self) {
        let mut state = self.lock();
        *state = match *state {
            State::Closed { failures } if failures + 1 < self.threshold => State::Closed {
                failures: failures + 1,
            },
            State::Open { since } => State::Open { since },
            _ => State::Open {
                since: Instant::now(),
            },
        };
    }

    pub fn is_open(&self) -> bool {
        matches!(*self.lock(), State::Open { .. })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is a plain value: a panic elsewhere cannot leave it half-written.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
