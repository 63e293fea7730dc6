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

#[cfg(test)]
mod tests {
    use super::*;

    const LONG: Duration = Duration::from_secs(3600);

    #[test]
    fn failures_below_the_threshold_keep_it_closed_and_a_success_resets_them() {
        let b = CircuitBreaker::new(3, LONG);
        b.record_failure();
        b.record_failure();
        assert!(!b.is_open() && b.allow());
        b.record_success();
        b.record_failure();
        b.record_failure();
        assert!(!b.is_open(), "the count started again after the success");
        b.record_failure();
        assert!(b.is_open());
    }

    #[test]
    fn an_open_circuit_refuses_until_its_cooldown_has_passed() {
        let b = CircuitBreaker::new(1, LONG);
        b.record_failure();
        assert!(b.is_open());
        assert!(!b.allow());
        // A failure reported while open does not restart nor close it.
        b.record_failure();
        assert!(b.is_open() && !b.allow());
    }

    #[test]
    fn after_the_cooldown_one_trial_goes_and_its_outcome_decides() {
        let b = CircuitBreaker::new(2, Duration::ZERO);
        b.record_failure();
        b.record_failure();
        assert!(b.is_open());
        assert!(b.allow(), "the trial request");
        assert!(!b.is_open(), "half open");
        assert!(!b.allow(), "only one trial at a time");
        b.record_failure();
        assert!(b.is_open(), "a failed trial opens it again at once");
        assert!(b.allow());
        b.record_success();
        assert!(!b.is_open());
        assert!(b.allow() && b.allow(), "closed: every request goes");
    }

    #[test]
    fn a_threshold_of_zero_is_taken_as_one() {
        let b = CircuitBreaker::new(0, LONG);
        assert!(b.allow());
        b.record_failure();
        assert!(b.is_open());
    }
}
