-- 0005: device reports (received, clicked), one row per message,
-- registration and kind, so that a report sent twice, or by two copies of
-- a service worker at once, counts once. The message's received / clicked
-- counters are the sums; these rows only make the counting idempotent.
-- Keyed by registration id, not subscriber id: the report names the
-- registration (signed), and the subscriber may have been deleted since.
CREATE TABLE engagements (
    message_id      INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    registration_id TEXT    NOT NULL,
    kind            TEXT    NOT NULL,  -- received | clicked
    at              INTEGER NOT NULL,
    PRIMARY KEY (message_id, registration_id, kind)
) WITHOUT ROWID;
