-- Push: the systems subscribed to events, the outbox of events (written in the
-- transaction of what caused them), and one delivery per event and subscriber, whose
-- retry state lives here so a restart loses nothing.

CREATE TABLE subscriptions (
    id            uuid PRIMARY KEY,
    url           text NOT NULL,
    events        text[] NOT NULL,
    description   text,
    -- Only events naming this ministry, or none (events that name no ministry go to all).
    ministry      text,
    -- The creator's jurisdiction: only events placed inside it (unplaced ones go to
    -- national subscriptions only).
    jurisdiction  text,
    -- The signing secret (`whsec_` and base64), shown once at creation.
    secret        text NOT NULL,
    created_by    text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    -- How far the change feed has been turned into `staff.changed` and
    -- `facility.changed` events for this subscription (a record version).
    change_cursor bigint NOT NULL DEFAULT 0
);

CREATE TABLE outbox_events (
    -- The event's id: `webhook-id`, the same on every attempt and for every subscriber.
    id              uuid PRIMARY KEY,
    event_type      text NOT NULL,
    -- The body sent: {"type", "timestamp", "data"}.
    payload         jsonb NOT NULL,
    admin_unit_code text,
    ministry        text,
    created_at      timestamptz NOT NULL DEFAULT now()
);

-- No foreign keys: a pass that opens 100,000 findings writes as many deliveries per
-- subscriber, and checking each row's two references doubled that cost. The store
-- keeps them: a subscription's deliveries are deleted with it, and an event only once
-- no delivery is left for it.
CREATE TABLE deliveries (
    id              uuid PRIMARY KEY,
    subscription_id uuid NOT NULL,
    event_id        uuid NOT NULL,
    status          text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts        integer NOT NULL DEFAULT 0,
    -- When the next attempt is due; while an attempt is out, when it is given up for
    -- lost (the worker that claimed it died) and may be claimed again.
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    last_status     integer,
    last_attempt_at timestamptz,
    delivered_at    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    -- Event first: events are purged by whether any delivery is left for them.
    UNIQUE (event_id, subscription_id)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_dead ON deliveries (subscription_id, id) WHERE status = 'dead';
-- A subscription's deliveries, counted and deleted with it.
CREATE INDEX deliveries_subscription ON deliveries (subscription_id);
