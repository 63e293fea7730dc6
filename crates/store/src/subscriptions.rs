//! Subscriptions to push events, and the dead letters of each: deliveries whose last
//! try failed, kept for an administrator to read and replay. A subscription belongs to
//! the jurisdiction of whoever made it: only callers whose jurisdiction holds it see it.

use chrono::{DateTime, Utc};
use schema::AdminCode;
use serde_json::Value;
use uuid::Uuid;

use crate::outbox::{EventType, SigningSecret};
use crate::{Store, StoreError};

/// A subscription to make.
#[derive(Debug, Clone)]
pub struct NewSubscription {
    pub url: String,
    pub events: Vec<EventType>,
    pub description: Option<String>,
    pub ministry: Option<String>,
    pub jurisdiction: Option<AdminCode>,
    pub secret: SigningSecret,
    pub created_by: String,
}

/// A subscription as stored (without its secret), with how its deliveries stand.
#[derive(Debug, Clone)]
pub struct StoredSubscription {
    pub id: Uuid,
    pub url: String,
    pub events: Vec<String>,
    pub description: Option<String>,
    pub ministry: Option<String>,
    pub jurisdiction: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub pending: i64,
    pub delivered: i64,
    pub dead: i64,
}

/// A delivery whose last try failed.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    pub id: Uuid,
    pub event_id: Uuid,
    pub event_type: String,
    pub payload: Value,
    pub attempts: i32,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

const SELECT_SUBSCRIPTION: &str = "SELECT s.id, s.url, s.events, s.description, s.ministry,
        s.jurisdiction, s.created_by, s.created_at,
        count(d.id) FILTER (WHERE d.status = 'pending'),
        count(d.id) FILTER (WHERE d.status = 'delivered'),
        count(d.id) FILTER (WHERE d.status = 'dead')
    FROM subscriptions s LEFT JOIN deliveries d ON d.subscription_id = s.id";

fn subscription(r: &tokio_postgres::Row) -> StoredSubscription {
    StoredSubscription {
        id: r.get(0),
        url: r.get(1),
        events: r.get(2),
        description: r.get(3),
        ministry: r.get(4),
        jurisdiction: r.get(5),
        created_by: r.get(6),
        created_at: r.get(7),
        pending: r.get(8),
        delivered: r.get(9),
        dead: r.get(10),
    }
}

/// `LIKE` pattern of what lies inside `within` (a code is digits only).
fn inside(within: Option<&AdminCode>) -> Option<String> {
    within.map(|c| format!("{}%", c.as_str()))
}

impl Store {
    /// Stores a subscription. Record changes are told from now on: its change cursor
    /// starts at the newest committed version.
    pub async fn create_subscription(
        &self,
        new: &NewSubscription,
    ) -> Result<StoredSubscription, StoreError> {
        let client = self.client().await?;
        let id = Uuid::new_v4();
        let events: Vec<&str> = new.events.iter().map(|e| e.as_str()).collect();
        client
            .execute(
                "INSERT INTO subscriptions (id, url, events, description, ministry, jurisdiction,
                                            secret, created_by, change_cursor)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8,
                         greatest((SELECT max(version) FROM staff), (SELECT max(version) FROM facilities), 0))",
                &[
                    &id,
                    &new.url,
                    &events,
                    &new.description,
                    &new.ministry,
                    &new.jurisdiction.as_ref().map(AdminCode::as_str),
                    &new.secret.expose(),
                    &new.created_by,
                ],
            )
            .await?;
        drop(client);
        self.get_subscription(id, None)
            .await?
            .ok_or_else(|| StoreError::corrupt("subscriptions", id, "not found after insert"))
    }

    /// The subscriptions inside `within`, oldest first.
    pub async fn list_subscriptions(
        &self,
        within: Option<&AdminCode>,
    ) -> Result<Vec<StoredSubscription>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!(
                    "{SELECT_SUBSCRIPTION}
                     WHERE $1::text IS NULL OR s.jurisdiction LIKE $1
                     GROUP BY s.id ORDER BY s.created_at, s.id"
                ),
                &[&inside(within)],
            )
            .await?;
        Ok(rows.iter().map(subscription).collect())
    }

    /// One subscription, if it exists inside `within`.
    pub async fn get_subscription(
        &self,
        id: Uuid,
        within: Option<&AdminCode>,
    ) -> Result<Option<StoredSubscription>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!(
                    "{SELECT_SUBSCRIPTION}
                     WHERE s.id = $1 AND ($2::text IS NULL OR s.jurisdiction LIKE $2)
                     GROUP BY s.id"
                ),
                &[&id, &inside(within)],
            )
            .await?;
        Ok(row.as_ref().map(subscription))
    }

    /// Deletes a subscription inside `within` and every delivery it has yet to receive
    /// (its dead letters too); false when there was none.
    pub async fn delete_subscription(
        &self,
        id: Uuid,
        within: Option<&AdminCode>,
    ) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "WITH gone AS (
                    DELETE FROM subscriptions WHERE id = $1 AND ($2::text IS NULL OR jurisdiction LIKE $2)
                    RETURNING id
                 ), deliveries_gone AS (
                    DELETE FROM deliveries WHERE subscription_id IN (SELECT id FROM gone)
                 )
                 SELECT count(*) FROM gone",
                &[&id, &inside(within)],
            )
            .await?;
        Ok(row.get::<_, i64>(0) > 0)
    }

    /// The dead letters of a subscription, after `after` (a delivery id) in id order;
    /// `None` when the subscription is not there (inside `within`).
    pub async fn list_dead_letters(
        &self,
        subscription: Uuid,
        within: Option<&AdminCode>,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Option<Vec<DeadLetter>>, StoreError> {
        if self.get_subscription(subscription, within).await?.is_none() {
            return Ok(None);
        }
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT d.id, e.id, e.event_type, e.payload, d.attempts, d.last_status, d.last_error,
                        d.last_attempt_at, d.created_at
                 FROM deliveries d JOIN outbox_events e ON e.id = d.event_id
                 WHERE d.subscription_id = $1 AND d.status = 'dead'
                   AND ($2::uuid IS NULL OR d.id > $2)
                 ORDER BY d.id LIMIT $3",
                &[&subscription, &after, &(limit as i64)],
            )
            .await?;
        Ok(Some(
            rows.iter()
                .map(|r| DeadLetter {
                    id: r.get(0),
                    event_id: r.get(1),
                    event_type: r.get(2),
                    payload: r.get(3),
                    attempts: r.get(4),
                    last_status: r.get(5),
                    last_error: r.get(6),
                    last_attempt_at: r.get(7),
                    created_at: r.get(8),
                })
                .collect(),
        ))
    }

    /// Puts a dead letter back in the queue, due now, with its tries counted afresh
    /// (the event keeps its id). `None` when the subscription (inside `within`) has no
    /// such dead letter.
    pub async fn replay_dead_letter(
        &self,
        subscription: Uuid,
        delivery: Uuid,
        within: Option<&AdminCode>,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "UPDATE deliveries d SET status = 'pending', attempts = 0, next_attempt_at = now()
                 FROM subscriptions s
                 WHERE d.id = $2 AND d.subscription_id = $1 AND d.status = 'dead'
                   AND s.id = d.subscription_id AND ($3::text IS NULL OR s.jurisdiction LIKE $3)
                 RETURNING d.next_attempt_at",
                &[&subscription, &delivery, &inside(within)],
            )
            .await?;
        Ok(row.map(|r| r.get(0)))
    }
}
