-- 0002: messages (sends) and their per-recipient outcomes.

CREATE TABLE messages (
    id             bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    app_id         text    NOT NULL REFERENCES apps (id),
    state          text    NOT NULL,
    audience       text    NOT NULL,           -- JSON of store.Audience
    content        bytea   NOT NULL,           -- JSON, owned by delivery
    ttl_ms         bigint  NOT NULL,
    urgency        text    NOT NULL DEFAULT '',
    topic          text    NOT NULL DEFAULT '',
    spread_seconds integer NOT NULL DEFAULT 0,
    send_at        bigint  NOT NULL,
    created_at     bigint  NOT NULL,
    finished_at    bigint,
    dedup_id       text,                       -- NULL when absent, so UNIQUE ignores it
    request_id     text    NOT NULL DEFAULT '',
    custom_args    bytea,
    fanout_cursor  bigint  NOT NULL DEFAULT 0,
    fanout_done    boolean NOT NULL DEFAULT false,
    targeted       bigint  NOT NULL DEFAULT 0,
    sent           bigint  NOT NULL DEFAULT 0,
    failed         bigint  NOT NULL DEFAULT 0,
    pruned         bigint  NOT NULL DEFAULT 0,
    expired        bigint  NOT NULL DEFAULT 0,
    received       bigint  NOT NULL DEFAULT 0,
    clicked        bigint  NOT NULL DEFAULT 0,
    UNIQUE (app_id, dedup_id)
);

CREATE UNIQUE INDEX messages_app_id ON messages (app_id, id);

-- Failure counts by reason ("http 400", "retries exhausted: http 503", …).
CREATE TABLE message_failures (
    message_id bigint  NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    reason     text    NOT NULL,
    count      bigint  NOT NULL,
    PRIMARY KEY (message_id, reason)
);

-- One row per recipient that has an outcome: the crash-safety ledger (see
-- the SQLite migration). No foreign key to subscribers: a pruned
-- subscriber's outcome stays.
CREATE TABLE deliveries (
    message_id    bigint  NOT NULL,
    subscriber_id bigint  NOT NULL,
    result        text    NOT NULL,
    reason        text    NOT NULL DEFAULT '',
    at            bigint  NOT NULL,
    PRIMARY KEY (message_id, subscriber_id)
);
