-- 0008: callbacks (webhooks). An app's callback URL and its signing secret
-- (sealed with the master key: HMAC needs the plain secret), and the outbox
-- of events waiting to be posted. Events are written in the transaction
-- that makes the change they report; they leave the outbox once the
-- receiver accepted them or after the last allowed attempt.
CREATE TABLE app_callbacks (
    app_id        TEXT    PRIMARY KEY REFERENCES apps (id),
    url           TEXT    NOT NULL,
    secret_sealed BLOB    NOT NULL,
    updated_at    INTEGER NOT NULL
) WITHOUT ROWID;

-- AUTOINCREMENT: the id is the event id receivers deduplicate on, so it
-- must never be reused, even after the newest events were deleted.
CREATE TABLE callback_events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id          TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    message_id      INTEGER NOT NULL,
    registration_id TEXT    NOT NULL DEFAULT '',
    channel         TEXT    NOT NULL DEFAULT '',
    reason          TEXT    NOT NULL DEFAULT '',
    at              INTEGER NOT NULL,
    counters        TEXT,               -- finished: the message's counters, JSON
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_at         INTEGER NOT NULL    -- due at (unix ms)
);
-- One index: apps with due events are found from app_callbacks (few rows)
-- through it, so outcome writes pay for one index, not two.
CREATE INDEX callback_events_app_due ON callback_events (app_id, next_at);
