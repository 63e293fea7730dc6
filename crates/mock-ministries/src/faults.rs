//! Faults on demand, per ministry: latency, a share of 503s and 429s, and the next
//! N requests failing, throttled, hanging, truncated or repeating the previous page.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::random::mix;
use crate::{Ministry, MockError};

/// How long a hanging request waits before it answers.
pub const HANG_SECONDS: u64 = 120;

/// One ministry's fault settings. Every field is optional in JSON (absent = 0).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FaultSettings {
    /// Added to every request, in milliseconds.
    pub latency_ms: u64,
    /// Share of requests answered 503 (0.0-1.0), chosen from a request counter.
    pub error_rate: f64,
    /// Share of requests answered 429 with `Retry-After: 1` (0.0-1.0).
    pub throttle_rate: f64,
    /// The next N requests are answered 503.
    pub fail_next: u32,
    /// The next N requests are answered 429 with `Retry-After: 1`.
    pub throttle_next: u32,
    /// The next N requests hang for [`HANG_SECONDS`] before answering.
    pub hang_next: u32,
    /// The next N responses promise the full body and deliver half of it.
    pub truncate_next: u32,
    /// The next N page requests are answered with the previous page's records.
    pub repeat_next: u32,
}

impl FaultSettings {
    fn check(&self) -> Result<(), MockError> {
        for (name, rate) in [
            ("error_rate", self.error_rate),
            ("throttle_rate", self.throttle_rate),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                return Err(MockError::BadRequest(format!(
                    "{name} must be between 0 and 1, not {rate}"
                )));
            }
        }
        Ok(())
    }
}

/// The body of `POST /_control/faults`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct FaultRequest {
    pub ministry: Ministry,
    #[serde(flatten)]
    pub settings: FaultSettings,
}

/// How to deliver a response that is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivery {
    Normal,
    /// Full length promised, half sent, connection closed.
    Truncate,
    /// The previous page's records (the first page is served normally).
    Repeat,
}

/// What to do with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    Serve(Delivery),
    Fail,
    Throttle,
    Hang,
}

#[derive(Debug, Clone, Default, Serialize)]
struct MinistryFaults {
    #[serde(flatten)]
    settings: FaultSettings,
    /// Requests seen since start.
    requests: u64,
}

/// The fault state of all five ministries.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    ministries: [MinistryFaults; 5],
}

fn take(counter: &mut u32) -> bool {
    if *counter > 0 {
        *counter -= 1;
        true
    } else {
        false
    }
}

impl Faults {
    pub(crate) fn set(
        &mut self,
        ministry: Ministry,
        settings: FaultSettings,
    ) -> Result<(), MockError> {
        settings.check()?;
        self.ministries[ministry.index()].settings = settings;
        Ok(())
    }

    pub(crate) fn clear(&mut self) {
        for m in &mut self.ministries {
            m.settings = FaultSettings::default();
        }
    }

    /// Every ministry's settings (remaining counts) and requests seen.
    pub(crate) fn view(&self) -> serde_json::Value {
        let map: BTreeMap<&str, &MinistryFaults> = Ministry::ALL
            .iter()
            .map(|m| (m.as_str(), &self.ministries[m.index()]))
            .collect();
        serde_json::to_value(map).unwrap_or_default()
    }

    /// Counts a request to `ministry` and decides its fate; returns the latency too.
    /// The `*_next` counters are spent first (hang, fail, throttle, truncate, repeat),
    /// then the rates.
    pub(crate) fn decide(&mut self, ministry: Ministry) -> (u64, Decision) {
        let m = &mut self.ministries[ministry.index()];
        m.requests += 1;
        let s = &mut m.settings;
        let decision = if take(&mut s.hang_next) {
            Decision::Hang
        } else if take(&mut s.fail_next) {
            Decision::Fail
        } else if take(&mut s.throttle_next) {
            Decision::Throttle
        } else if take(&mut s.truncate_next) {
            Decision::Serve(Delivery::Truncate)
        } else if take(&mut s.repeat_next) {
            Decision::Serve(Delivery::Repeat)
        } else {
            let draw = (mix(m.requests ^ 0x00FA_u64.rotate_left(40) ^ ministry.index() as u64)
                >> 11) as f64
                / (1u64 << 53) as f64;
            if draw < s.error_rate {
                Decision::Fail
            } else if draw < s.error_rate + s.throttle_rate {
                Decision::Throttle
            } else {
                Decision::Serve(Delivery::Normal)
            }
        };
        (s.latency_ms, decision)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_spent_in_order_then_rates_apply() {
        let mut f = Faults::default();
        f.set(
            Ministry::Mcs,
            FaultSettings {
                fail_next: 1,
                repeat_next: 1,
                ..FaultSettings::default()
            },
        )
        .expect("valid settings");
        assert_eq!(f.decide(Ministry::Mcs).1, Decision::Fail);
        assert_eq!(f.decide(Ministry::Mcs).1, Decision::Serve(Delivery::Repeat));
        assert_eq!(f.decide(Ministry::Mcs).1, Decision::Serve(Delivery::Normal));
        assert_eq!(f.decide(Ministry::Moh).1, Decision::Serve(Delivery::Normal));

        f.set(
            Ministry::Moi,
            FaultSettings {
                error_rate: 0.25,
                ..FaultSettings::default()
            },
        )
        .expect("valid settings");
        let failed = (0..1000)
            .filter(|_| f.decide(Ministry::Moi).1 == Decision::Fail)
            .count();
        assert!((200..300).contains(&failed), "{failed} of 1000 failed");
    }

    #[test]
    fn rates_outside_zero_one_are_refused() {
        let mut f = Faults::default();
        let bad = FaultSettings {
            error_rate: 1.5,
            ..FaultSettings::default()
        };
        assert!(f.set(Ministry::Mef, bad).is_err());
    }
}
