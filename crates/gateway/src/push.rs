//! Push, the pure parts: where a subscription may deliver ([`Destinations`], the
//! allow-list), how a delivery is signed ([`sign`], as Standard Webhooks does), when a
//! failed one is tried again ([`RetrySchedule`]), and a new signing secret. The worker
//! that sends is `delivery`; the store keeps the outbox.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use store::SigningSecret;

use crate::Error;

/// The hosts subscriptions may deliver to: `hooks.moh.gov.kh` (that host), `*.gov.kh`
/// (any host under it), each over HTTPS only; `http://127.0.0.1` allows that host over
/// plain HTTP too (for tests and a receiver on the same machine). Anything else, an
/// internal address included, is refused, so the gateway cannot be made to call
/// inside the network it runs in.
#[derive(Debug, Clone, Default)]
pub struct Destinations {
    entries: Vec<Allowed>,
}

#[derive(Debug, Clone)]
struct Allowed {
    /// A host name, or a suffix starting with `.` for `*.`.
    host: String,
    plain_http: bool,
}

impl Destinations {
    pub fn new(list: &[String]) -> Self {
        let entries = list
            .iter()
            .map(|e| e.trim().to_ascii_lowercase())
            .filter(|e| !e.is_empty())
            .map(|e| match e.strip_prefix("http://") {
                Some(host) => Allowed {
                    host: host.trim_end_matches('/').to_owned(),
                    plain_http: true,
                },
                None => Allowed {
                    host: e
                        .strip_prefix("https://")
                        .unwrap_or(&e)
                        .trim_end_matches('/')
                        .trim_start_matches('*')
                        .to_owned(),
                    plain_http: false,
                },
            })
            .collect();
        Self { entries }
    }

    /// The URL, if a subscription may deliver there; else why not (naming no secret:
    /// a URL with credentials in it is refused without quoting them).
    pub fn check(&self, url: &str) -> Result<reqwest::Url, String> {
        let parsed = reqwest::Url::parse(url).map_err(|e| format!("is not a URL ({e})"))?;
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(
                "must not carry credentials: the signature authenticates the gateway".to_owned(),
            );
        }
        if parsed.fragment().is_some() {
            return Err("must not have a fragment (#...)".to_owned());
        }
        let scheme = parsed.scheme();
        if scheme != "https" && scheme != "http" {
            return Err(format!("must be an https:// URL, not {scheme}:"));
        }
        let host = parsed
            .host_str()
            .ok_or("has no host")?
            .trim_end_matches('.')
            .to_ascii_lowercase();
        let allowed = self.entries.iter().filter(|a| {
            if let Some(suffix) = a.host.strip_prefix('.') {
                host.ends_with(&a.host) && host.len() > suffix.len() + 1
            } else {
                a.host == host
            }
        });
        let mut host_listed = false;
        for a in allowed {
            host_listed = true;
            if scheme == "https" || a.plain_http {
                return Ok(parsed);
            }
        }
        Err(if host_listed {
            "must be an https:// URL".to_owned()
        } else {
            format!("host {host} is not on the gateway's allow-list (push.allowed_hosts)")
        })
    }
}

/// A new signing secret: `whsec_` and 32 random bytes in base64.
pub fn new_secret() -> Result<SigningSecret, Error> {
    let mut key = [0_u8; 32];
    getrandom::fill(&mut key).map_err(|e| Error::Internal(format!("no randomness: {e}")))?;
    Ok(SigningSecret::new(format!(
        "whsec_{}",
        STANDARD.encode(key)
    )))
}

/// The `webhook-signature` value of a delivery: `v1,` and the base64 HMAC-SHA256 of
/// `{id}.{timestamp}.{body}` under the key the secret encodes (its base64 after
/// `whsec_`).
pub fn sign(secret: &SigningSecret, id: &str, timestamp: i64, body: &str) -> Result<String, Error> {
    let encoded = secret.expose();
    let key = STANDARD
        .decode(encoded.strip_prefix("whsec_").unwrap_or(encoded))
        .map_err(|_| Error::Internal("a stored signing secret is not base64".to_owned()))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key)
        .map_err(|e| Error::Internal(format!("signing key: {e}")))?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    Ok(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// When a failed delivery is tried again: after `first`, then `factor` times longer
/// each time up to `max`, each wait stretched by a random share of itself (up to
/// double) so that subscribers failing together are not retried in one burst; after
/// `attempts` tries in all, it is a dead letter.
#[derive(Debug, Clone, Copy)]
pub struct RetrySchedule {
    pub attempts: u32,
    pub first: Duration,
    pub factor: f32,
    pub max: Duration,
}

impl RetrySchedule {
    /// The wait after the `made`-th failed attempt (from 1); none when it was the last.
    pub fn after(&self, made: u32) -> Option<Duration> {
        if made == 0 {
            return Some(Duration::ZERO);
        }
        ExponentialBuilder::new()
            .with_min_delay(self.first)
            .with_factor(self.factor.max(1.0))
            .with_max_delay(self.max.max(self.first))
            .with_max_times(self.attempts.saturating_sub(1) as usize)
            .with_jitter()
            .build()
            .nth(made as usize - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed() -> Destinations {
        Destinations::new(&[
            "hooks.moh.gov.kh".to_owned(),
            "*.moeys.gov.kh".to_owned(),
            "http://127.0.0.1".to_owned(),
        ])
    }

    #[test]
    fn only_listed_hosts_over_https_are_destinations() {
        let d = allowed();
        for ok in [
            "https://hooks.moh.gov.kh/events",
            "https://HOOKS.moh.gov.kh:8443/events?x=1",
            "https://emis.moeys.gov.kh/hook",
            "https://a.b.moeys.gov.kh/hook",
            "http://127.0.0.1:34567/hook",
            "https://127.0.0.1/hook",
            "http://2130706433/hook",
        ] {
            assert!(d.check(ok).is_ok(), "{ok}");
        }
        for (bad, why) in [
            ("http://hooks.moh.gov.kh/events", "https"),
            ("https://moeys.gov.kh/hook", "allow-list"),
            ("https://evilmoeys.gov.kh/hook", "allow-list"),
            ("https://hooks.moh.gov.kh.evil.example/", "allow-list"),
            ("https://169.254.169.254/latest/meta-data", "allow-list"),
            ("http://localhost:8080/v1/sync/mcs", "allow-list"),
            ("http://[::1]/", "allow-list"),
            // Other spellings of an address are read as the address they spell.
            ("https://2852039166/", "host 169.254.169.254 is not"),
            ("http://0x7f000002/", "host 127.0.0.2 is not"),
            ("https://user:pw@hooks.moh.gov.kh/", "credentials"),
            ("ftp://hooks.moh.gov.kh/", "https"),
            ("file:///etc/passwd", "https"),
            ("hooks.moh.gov.kh/events", "not a URL"),
        ] {
            let err = d.check(bad).expect_err(bad);
            assert!(err.contains(why), "{bad}: {err}");
            assert!(!err.contains("pw"), "{bad}: {err}");
        }
        assert!(
            Destinations::default()
                .check("https://hooks.moh.gov.kh/")
                .is_err()
        );
    }

    /// The Standard Webhooks formula worked by hand: HMAC-SHA256 of `id.timestamp.body`
    /// under the base64-decoded secret, in base64, after `v1,`.
    #[test]
    fn a_delivery_is_signed_as_standard_webhooks_says() {
        let key = b"a key only this test knows......";
        let secret = SigningSecret::new(format!("whsec_{}", STANDARD.encode(key)));
        let (id, ts, body) = (
            "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",
            1_674_087_231,
            r#"{"type":"staff.changed"}"#,
        );
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("key");
        mac.update(format!("{id}.{ts}.{body}").as_bytes());
        let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
        assert_eq!(sign(&secret, id, ts, body).expect("signed"), expected);
        // The published example of the Standard Webhooks libraries.
        let example = SigningSecret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned());
        assert_eq!(
            sign(
                &example,
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1_614_265_330,
                r#"{"test": 2432232314}"#
            )
            .expect("signed"),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        // Another body, id or time: another signature.
        assert_ne!(sign(&secret, id, ts + 1, body).ok(), Some(expected.clone()));
        assert_ne!(sign(&secret, "msg_other", ts, body).ok(), Some(expected));
    }

    #[test]
    fn a_new_secret_is_32_random_bytes_in_the_standard_form() {
        let (a, b) = (new_secret().expect("a"), new_secret().expect("b"));
        assert_ne!(a, b);
        let key = STANDARD
            .decode(a.expose().strip_prefix("whsec_").expect("prefix"))
            .expect("base64");
        assert_eq!(key.len(), 32);
    }

    #[test]
    fn retries_back_off_exponentially_with_jitter_then_stop() {
        let s = RetrySchedule {
            attempts: 6,
            first: Duration::from_secs(5),
            factor: 4.0,
            max: Duration::from_secs(600),
        };
        // Without jitter: 5, 20, 80, 320, 600 (capped) seconds; jitter adds up to as much.
        for (made, base) in [(1, 5), (2, 20), (3, 80), (4, 320), (5, 600)] {
            for _ in 0..20 {
                let wait = s.after(made).expect("a retry");
                assert!(
                    wait >= Duration::from_secs(base) && wait < Duration::from_secs(2 * base),
                    "after attempt {made}: {wait:?}"
                );
            }
        }
        assert_eq!(s.after(6), None, "six attempts in all");
        assert_eq!(s.after(7), None);
        let once = RetrySchedule { attempts: 1, ..s };
        assert_eq!(once.after(1), None);
    }
}
