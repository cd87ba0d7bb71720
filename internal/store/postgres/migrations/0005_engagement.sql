-- 0005: device reports (received, clicked), one row per message,
-- registration and kind, so that a report sent twice counts once.
CREATE TABLE engagements (
    message_id      bigint  NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    registration_id text    NOT NULL,
    kind            text    NOT NULL,  -- received | clicked
    at              bigint  NOT NULL,
    PRIMARY KEY (message_id, registration_id, kind)
);
