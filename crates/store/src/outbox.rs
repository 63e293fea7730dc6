//! The outbox: events for subscribed systems, written in the transaction of what
//! caused them, and one delivery per event and subscriber whose retry state is a row.
//!
//! An event is written only when some subscription wants its type, and fanned out at
//! once into `deliveries` (one per subscriber inside whose jurisdiction, and for whose
//! ministry, it falls): nothing has to follow the events later by a sequence that
//! commits out of order. Findings opened and resolved are written by the discrepancy
//! pass (`reconcile`), in its transaction; corrections by their module through
//! [`enqueue_event`]. Record changes are not written by the syncs: the delivery worker
//! derives them from the change feed for each subscription ([`Store::derive_changes`]),
//! by a version cursor advanced in the transaction that writes the events, so a full
//! sync pays nothing for push and every version is turned into an event exactly once.
//!
//! Delivery is at least once: a worker claims due deliveries (`FOR UPDATE SKIP LOCKED`,
//! so replicas share them), counts the attempt and pushes the due time out by a lease
//! before it sends; a worker that dies mid-send leaves the delivery to be claimed again
//! when the lease ends. Each event keeps its id on every attempt (`webhook-id`), so a
//! receiver drops what it has seen.

use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio_postgres::GenericClient;
use uuid::Uuid;

use crate::{Store, StoreError};

/// What a subscriber can be told of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    /// A finding was found for the first time, or again after it had resolved.
    FindingOpened,
    /// The sources came to agree: a finding no longer holds.
    FindingResolved,
    /// A correction request was made for a ministry.
    CorrectionCreated,
    /// A staff record took a new version.
    StaffChanged,
    /// A facility record took a new version.
    FacilityChanged,
}

impl EventType {
    pub const ALL: [EventType; 5] = [
        Self::FindingOpened,
        Self::FindingResolved,
        Self::CorrectionCreated,
        Self::StaffChanged,
        Self::FacilityChanged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::FindingOpened => "finding.opened",
            Self::FindingResolved => "finding.resolved",
            Self::CorrectionCreated => "correction.created",
            Self::StaffChanged => "staff.changed",
            Self::FacilityChanged => "facility.changed",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// The names, for error messages and documentation.
    pub fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|t| t.as_str()).collect()
    }
}

/// An event to enqueue. `data` is what the subscriber receives under `data`: ids and
/// states, never a personal value (a receiver reads the record through the API, where
/// its scopes, jurisdiction and the audit apply).
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub event_type: EventType,
    pub data: Value,
    /// Where it happened: only subscriptions whose jurisdiction holds it receive it
    /// (none: national subscriptions only).
    pub admin_unit_code: Option<String>,
    /// The ministry it concerns: subscriptions for another ministry skip it (none:
    /// every subscription receives it).
    pub ministry: Option<String>,
}

/// Fans the events of CTE `ev` (columns `id`, `event_type`, `admin_unit_code`,
/// `ministry`) out to the subscriptions that want them.
macro_rules! fan_out {
    () => {
        "INSERT INTO deliveries (id, subscription_id, event_id)
         SELECT gen_random_uuid(), s.id, ev.id FROM ev JOIN subscriptions s
           ON ev.event_type = ANY (s.events)
          AND (s.jurisdiction IS NULL OR ev.admin_unit_code LIKE s.jurisdiction || '%')
          AND (s.ministry IS NULL OR ev.ministry IS NULL OR ev.ministry = s.ministry)
         ON CONFLICT (event_id, subscription_id) DO NOTHING"
    };
}

const ENQUEUE: &str = concat!(
    "WITH ev AS (
        INSERT INTO outbox_events (id, event_type, payload, admin_unit_code, ministry)
        SELECT gen_random_uuid(), $1,
               jsonb_build_object('type', $1::text, 'timestamp', now(), 'data', $2::jsonb), $3, $4
        WHERE EXISTS (SELECT 1 FROM subscriptions WHERE $1 = ANY (events))
        RETURNING id, event_type, admin_unit_code, ministry
     ) ",
    fan_out!()
);

/// Writes `event` in the caller's transaction and fans it out; returns how many
/// deliveries it made (none, and no row at all, when nobody subscribed to its type).
/// The corrections module calls this in the transaction that creates a correction.
pub async fn enqueue_event(
    client: &impl GenericClient,
    event: &NewEvent,
) -> Result<u64, StoreError> {
    Ok(client
        .execute(
            ENQUEUE,
            &[
                &event.event_type.as_str(),
                &event.data,
                &event.admin_unit_code,
                &event.ministry,
            ],
        )
        .await?)
}

const ENQUEUE_MANY: &str = concat!(
    "WITH ev AS (
        INSERT INTO outbox_events (id, event_type, payload, admin_unit_code, ministry)
        SELECT gen_random_uuid(), $1,
               jsonb_build_object('type', $1::text, 'timestamp', now(), 'data', e.data), e.unit, e.ministry
        FROM unnest($2::jsonb[], $3::text[], $4::text[]) AS e(data, unit, ministry)
        WHERE EXISTS (SELECT 1 FROM subscriptions WHERE $1 = ANY (events))
        RETURNING id, event_type, admin_unit_code, ministry
     ) ",
    fan_out!()
);

/// [`enqueue_event`] for many events of one type in one statement (a pass that makes
/// thousands of correction requests would otherwise pay a round trip for each).
pub(crate) async fn enqueue_events(
    client: &impl GenericClient,
    event_type: EventType,
    events: &[NewEvent],
) -> Result<u64, StoreError> {
    if events.is_empty() {
        return Ok(0);
    }
    debug_assert!(events.iter().all(|e| e.event_type == event_type));
    let data: Vec<&Value> = events.iter().map(|e| &e.data).collect();
    let units: Vec<Option<&str>> = events
        .iter()
        .map(|e| e.admin_unit_code.as_deref())
        .collect();
    let ministries: Vec<Option<&str>> = events.iter().map(|e| e.ministry.as_deref()).collect();
    Ok(client
        .execute(
            ENQUEUE_MANY,
            &[&event_type.as_str(), &data, &units, &ministries],
        )
        .await?)
}

impl crate::WriteTx {
    /// [`enqueue_event`] in this transaction.
    pub async fn enqueue_event(&self, event: &NewEvent) -> Result<u64, StoreError> {
        enqueue_event(&***self.client()?, event).await
    }
}

/// The data of a finding's event, from a row of `discrepancies` (or of what a pass
/// found) named `f`: ids and places, no evidence (it quotes personal values).
macro_rules! finding_data {
    () => {
        "jsonb_build_object('id', f.id, 'kind', f.kind, 'facility_id', f.facility_id,
                            'admin_unit_code', f.admin_unit_code, 'staff_ids', to_jsonb(f.staff_ids))"
    };
}

/// `finding.opened` for what a pass found that is new or was resolved: run before the
/// pass merges what it found (after, nothing tells a reopened finding from one seen
/// again). Writes nothing when nobody subscribed to the type.
pub(crate) const FINDINGS_OPENED: &str = concat!(
    "WITH ev AS (
        INSERT INTO outbox_events (id, event_type, payload, admin_unit_code)
        SELECT gen_random_uuid(), 'finding.opened',
               jsonb_build_object('type', 'finding.opened', 'timestamp', now(), 'data', ",
    finding_data!(),
    "), f.admin_unit_code
        FROM found_discrepancies f LEFT JOIN discrepancies d ON d.id = f.id
        WHERE (d.id IS NULL OR d.resolved_at IS NOT NULL)
          AND EXISTS (SELECT 1 FROM subscriptions WHERE 'finding.opened' = ANY (events))
        RETURNING id, event_type, admin_unit_code, ministry
     ) ",
    fan_out!()
);

/// Which finding events some subscription wants: a pass that no one listens to writes
/// none and runs its statements as it would without push.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FindingEvents {
    pub(crate) opened: bool,
    pub(crate) resolved: bool,
}

pub(crate) async fn finding_events_wanted(
    client: &impl GenericClient,
) -> Result<FindingEvents, StoreError> {
    let row = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM subscriptions WHERE 'finding.opened' = ANY (events)),
                    EXISTS (SELECT 1 FROM subscriptions WHERE 'finding.resolved' = ANY (events))",
            &[],
        )
        .await?;
    Ok(FindingEvents {
        opened: row.get(0),
        resolved: row.get(1),
    })
}

/// Wraps a pass's resolving `UPDATE discrepancies d ...` so the findings it resolves
/// become `finding.resolved` events in the same statement; the statement answers one
/// row: how many it resolved.
pub(crate) fn resolving_with_events(resolve: &str) -> String {
    format!(
        concat!(
            "WITH resolved_now AS ({resolve} RETURNING d.*), ev AS (
                INSERT INTO outbox_events (id, event_type, payload, admin_unit_code)
                SELECT gen_random_uuid(), 'finding.resolved',
                       jsonb_build_object('type', 'finding.resolved', 'timestamp', now(), 'data', ",
            finding_data!(),
            "), f.admin_unit_code
                FROM resolved_now f WHERE EXISTS (SELECT 1 FROM subscriptions WHERE 'finding.resolved' = ANY (events))
                RETURNING id, event_type, admin_unit_code, ministry
            ), fanned AS (",
            fan_out!(),
            ") SELECT count(*) FROM resolved_now"
        ),
        resolve = resolve
    )
}

/// One delivery claimed for an attempt.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    pub id: Uuid,
    /// Attempts made, this one included.
    pub attempts: i32,
    pub subscription_id: Uuid,
    pub url: String,
    pub secret: SigningSecret,
    pub event_id: Uuid,
    /// The body to send, exactly as signed.
    pub body: String,
}

/// A subscription's signing secret (`whsec_` and base64). It never prints; only the
/// code that signs, and the answer that creates the subscription, take it out.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningSecret(String);

impl SigningSecret {
    pub fn new(value: String) -> Self {
        Self(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// How an attempt ended.
#[derive(Debug, Clone)]
pub enum AttemptOutcome {
    /// A 2xx answer.
    Delivered { status: u16 },
    /// Anything else: retried at `retry_at`, or, with none, the last try (dead letter).
    Failed {
        status: Option<u16>,
        error: String,
        retry_at: Option<DateTime<Utc>>,
    },
}

const CLAIM: &str = "UPDATE deliveries d
    SET attempts = d.attempts + 1, last_attempt_at = now(),
        next_attempt_at = now() + make_interval(secs => $2)
    FROM (SELECT id FROM deliveries
          WHERE status = 'pending' AND next_attempt_at <= now()
          ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED) c,
         subscriptions s, outbox_events e
    WHERE d.id = c.id AND s.id = d.subscription_id AND e.id = d.event_id
    RETURNING d.id, d.attempts, s.id, s.url, s.secret, e.id, e.payload::text";

impl Store {
    /// Claims up to `limit` due deliveries for an attempt each: counts the attempt and
    /// leaves them to others only after `lease` (the attempt's timeout and a margin).
    pub async fn claim_deliveries(
        &self,
        limit: usize,
        lease: std::time::Duration,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(CLAIM, &[&(limit as i64), &lease.as_secs_f64()])
            .await?;
        Ok(rows
            .iter()
            .map(|r| ClaimedDelivery {
                id: r.get(0),
                attempts: r.get(1),
                subscription_id: r.get(2),
                url: r.get(3),
                secret: SigningSecret(r.get(4)),
                event_id: r.get(5),
                body: r.get(6),
            })
            .collect())
    }

    /// Records how an attempt ended.
    pub async fn record_attempt(
        &self,
        delivery: Uuid,
        outcome: &AttemptOutcome,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        match outcome {
            AttemptOutcome::Delivered { status } => {
                client
                    .execute(
                        "UPDATE deliveries SET status = 'delivered', delivered_at = now(),
                                last_status = $2, last_error = NULL
                         WHERE id = $1",
                        &[&delivery, &i32::from(*status)],
                    )
                    .await?;
            }
            AttemptOutcome::Failed {
                status,
                error,
                retry_at,
            } => {
                client
                    .execute(
                        "UPDATE deliveries SET
                            status = CASE WHEN $4::timestamptz IS NULL THEN 'dead' ELSE 'pending' END,
                            next_attempt_at = coalesce($4, next_attempt_at),
                            last_status = $2, last_error = $3
                         WHERE id = $1 AND status = 'pending'",
                        &[&delivery, &status.map(i32::from), error, retry_at],
                    )
                    .await?;
            }
        }
        Ok(())
    }

    /// Turns up to `limit` record changes past each subscription's change cursor into
    /// `staff.changed` / `facility.changed` events for it, moving its cursor in the same
    /// transaction; a subscription another replica is deriving is skipped. Returns how
    /// many deliveries were made.
    pub async fn derive_changes(&self, limit: usize) -> Result<u64, StoreError> {
        let client = self.client().await?;
        let subscriptions: Vec<Uuid> = client
            .query(
                "SELECT id FROM subscriptions
                 WHERE events && ARRAY['staff.changed', 'facility.changed']",
                &[],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        drop(client);
        let mut made = 0;
        for id in subscriptions {
            made += self.derive_changes_for(id, limit).await?;
        }
        Ok(made)
    }

    async fn derive_changes_for(
        &self,
        subscription: Uuid,
        limit: usize,
    ) -> Result<u64, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let Some(sub) = tx
            .query_opt(
                "SELECT change_cursor, 'staff.changed' = ANY (events), 'facility.changed' = ANY (events)
                 FROM subscriptions WHERE id = $1 FOR UPDATE SKIP LOCKED",
                &[&subscription],
            )
            .await?
        else {
            return Ok(0);
        };
        let (cursor, staff, facilities): (i64, bool, bool) = (sub.get(0), sub.get(1), sub.get(2));
        // Writers take versions one at a time (the version lock), so every version up
        // to the last one read has committed: the cursor may move past it.
        let rows = tx
            .query(
                "SELECT kind, id, version, admin_unit_code FROM (
                    (SELECT 'staff.changed' AS kind, id, version, admin_unit_code FROM staff
                      WHERE $2 AND version > $1 ORDER BY version LIMIT $4)
                    UNION ALL
                    (SELECT 'facility.changed', id, version, admin_unit_code FROM facilities
                      WHERE $3 AND version > $1 ORDER BY version LIMIT $4)
                 ) c ORDER BY version LIMIT $4",
                &[&cursor, &staff, &facilities, &(limit as i64)],
            )
            .await?;
        let Some(last) = rows.last().map(|r| r.get::<_, i64>(2)) else {
            return Ok(0);
        };
        let mut ids = Vec::with_capacity(rows.len());
        let mut kinds = Vec::with_capacity(rows.len());
        let mut records = Vec::with_capacity(rows.len());
        let mut versions = Vec::with_capacity(rows.len());
        let mut places = Vec::with_capacity(rows.len());
        for r in &rows {
            let kind: String = r.get(0);
            let record: Uuid = r.get(1);
            let version: i64 = r.get(2);
            // One id per record version: every subscriber (and every retry) sees the
            // same event for the same change.
            ids.push(Uuid::new_v5(
                &Uuid::NAMESPACE_OID,
                format!("{kind}:{record}:{version}").as_bytes(),
            ));
            kinds.push(kind);
            records.push(record);
            versions.push(version);
            places.push(r.get::<_, Option<String>>(3));
        }
        tx.execute(
            "INSERT INTO outbox_events (id, event_type, payload, admin_unit_code)
             SELECT e.id, e.kind,
                    jsonb_build_object('type', e.kind, 'timestamp', now(), 'data',
                        jsonb_build_object('id', e.record, 'version', e.version,
                                           'admin_unit_code', e.place)),
                    e.place
             FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::bigint[], $5::text[])
                  AS e (id, kind, record, version, place)
             ON CONFLICT (id) DO NOTHING",
            &[&ids, &kinds, &records, &versions, &places],
        )
        .await?;
        let made = tx
            .execute(
                "INSERT INTO deliveries (id, subscription_id, event_id)
                 SELECT gen_random_uuid(), s.id, e.id
                 FROM unnest($2::uuid[], $3::text[]) AS e (id, place), subscriptions s
                 WHERE s.id = $1
                   AND (s.jurisdiction IS NULL OR e.place LIKE s.jurisdiction || '%')
                 ON CONFLICT (event_id, subscription_id) DO NOTHING",
                &[&subscription, &ids, &places],
            )
            .await?;
        tx.execute(
            "UPDATE subscriptions SET change_cursor = $2 WHERE id = $1",
            &[&subscription, &last],
        )
        .await?;
        tx.commit().await?;
        Ok(made)
    }

    /// Forgets deliveries made more than `age` ago, and events nobody is left to
    /// receive: the outbox does not grow without end.
    pub async fn purge_delivered(&self, age: std::time::Duration) -> Result<u64, StoreError> {
        let client = self.client().await?;
        let purged = client
            .execute(
                "DELETE FROM deliveries WHERE status = 'delivered'
                   AND delivered_at < now() - make_interval(secs => $1)",
                &[&age.as_secs_f64()],
            )
            .await?;
        client
            .execute(
                "DELETE FROM outbox_events e WHERE created_at < now() - make_interval(secs => $1)
                   AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id)",
                &[&age.as_secs_f64()],
            )
            .await?;
        Ok(purged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_read_back_from_their_names() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
        }
        assert_eq!(EventType::parse("finding.Opened"), None);
        assert_eq!(EventType::names().len(), 5);
    }

    #[test]
    fn a_signing_secret_never_prints() {
        let s = SigningSecret::new("whsec_c2VjcmV0".to_owned());
        assert_eq!(format!("{s:?}"), "[redacted]");
        assert_eq!(s.expose(), "whsec_c2VjcmV0");
    }

    #[test]
    fn the_resolving_statement_keeps_its_own_parameters_and_counts_what_it_resolved() {
        let sql = resolving_with_events(
            "UPDATE discrepancies d SET resolved_at = now() WHERE d.facility_id = $1 RETURNING d.*",
        );
        assert!(sql.starts_with("WITH resolved_now AS (UPDATE discrepancies d"));
        assert!(sql.contains("'finding.resolved'"));
        assert!(sql.ends_with("SELECT count(*) FROM resolved_now"));
    }
}
