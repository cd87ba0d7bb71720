-- 0008: callbacks (webhooks): an app's callback URL and its sealed signing
-- secret, and the outbox of events waiting to be posted, written in the
-- transaction that makes the change they report.
CREATE TABLE app_callbacks (
    app_id        text    PRIMARY KEY REFERENCES apps (id),
    url           text    NOT NULL,
    secret_sealed bytea   NOT NULL,
    updated_at    bigint  NOT NULL
);

-- The id is the event id receivers deduplicate on: an identity column
-- never hands it out twice.
CREATE TABLE callback_events (
    id              bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    app_id          text    NOT NULL,
    kind            text    NOT NULL,
    message_id      bigint  NOT NULL,
    registration_id text    NOT NULL DEFAULT '',
    channel         text    NOT NULL DEFAULT '',
    reason          text    NOT NULL DEFAULT '',
    at              bigint  NOT NULL,
    counters        text,               -- finished: the message's counters, JSON
    attempts        integer NOT NULL DEFAULT 0,
    next_at         bigint  NOT NULL    -- due at (unix ms)
);
-- One index: apps with due events are found from app_callbacks (few rows)
-- through it, so outcome writes pay for one index, not two.
CREATE INDEX callback_events_app_due ON callback_events (app_id, next_at);
