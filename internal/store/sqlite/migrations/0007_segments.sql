-- 0007: saved segments, and local-time delivery of messages.
--
-- A segment is a saved target expression of one app. id is stable (Najva's
-- API names segments by integer id); name is the machine name Herald's API
-- uses, unique per app. rules is JSON of store.SegmentRules, read whole
-- when a message is sent or a segment counted, never queried into.
CREATE TABLE segments (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id      TEXT    NOT NULL REFERENCES apps (id),
    name        TEXT    NOT NULL,
    title       TEXT    NOT NULL DEFAULT '',
    description TEXT    NOT NULL DEFAULT '',
    rules       TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (app_id, name)
);

-- "HH:MM": deliver at that wall-clock time in each recipient's time zone;
-- '' delivers at send_at.
ALTER TABLE messages ADD COLUMN local_time TEXT NOT NULL DEFAULT '';
