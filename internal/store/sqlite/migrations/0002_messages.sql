-- 0002: messages (sends) and their per-recipient outcomes.

CREATE TABLE messages (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id         TEXT    NOT NULL REFERENCES apps (id),
    state          TEXT    NOT NULL,
    audience       TEXT    NOT NULL,           -- JSON of store.Audience
    content        BLOB    NOT NULL,           -- JSON, owned by delivery
    ttl_ms         INTEGER NOT NULL,
    urgency        TEXT    NOT NULL DEFAULT '',
    topic          TEXT    NOT NULL DEFAULT '',
    spread_seconds INTEGER NOT NULL DEFAULT 0,
    send_at        INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    finished_at    INTEGER,
    dedup_id       TEXT,                       -- NULL when absent, so UNIQUE ignores it
    request_id     TEXT    NOT NULL DEFAULT '',
    custom_args    BLOB,
    fanout_cursor  INTEGER NOT NULL DEFAULT 0,
    fanout_done    INTEGER NOT NULL DEFAULT 0,
    targeted       INTEGER NOT NULL DEFAULT 0,
    sent           INTEGER NOT NULL DEFAULT 0,
    failed         INTEGER NOT NULL DEFAULT 0,
    pruned         INTEGER NOT NULL DEFAULT 0,
    expired        INTEGER NOT NULL DEFAULT 0,
    received       INTEGER NOT NULL DEFAULT 0,
    clicked        INTEGER NOT NULL DEFAULT 0,
    UNIQUE (app_id, dedup_id)
);

CREATE UNIQUE INDEX messages_app_id ON messages (app_id, id);

-- Failure counts by reason ("http 400", "retries exhausted: http 503", …).
CREATE TABLE message_failures (
    message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    reason     TEXT    NOT NULL,
    count      INTEGER NOT NULL,
    PRIMARY KEY (message_id, reason)
) WITHOUT ROWID;

-- One row per recipient that has an outcome. A recipient without a row has
-- not been attempted; after a crash its batch runs again and skips every
-- recipient that has one, so at most the sends in flight are repeated. No
-- foreign key to subscribers: a pruned subscriber's outcome stays.
CREATE TABLE deliveries (
    message_id    INTEGER NOT NULL,
    subscriber_id INTEGER NOT NULL,
    result        TEXT    NOT NULL,
    reason        TEXT    NOT NULL DEFAULT '',
    at            INTEGER NOT NULL,
    PRIMARY KEY (message_id, subscriber_id)
) WITHOUT ROWID;
