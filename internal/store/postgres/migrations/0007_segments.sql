-- 0007: saved segments, and local-time delivery of messages.
-- rules is JSON of store.SegmentRules, read whole, never queried into.
CREATE TABLE segments (
    id          bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    app_id      text    NOT NULL REFERENCES apps (id),
    name        text    COLLATE "C" NOT NULL,
    title       text    NOT NULL DEFAULT '',
    description text    NOT NULL DEFAULT '',
    rules       text    NOT NULL,
    created_at  bigint  NOT NULL,
    updated_at  bigint  NOT NULL,
    UNIQUE (app_id, name)
);

-- "HH:MM": deliver at that wall-clock time in each recipient's time zone;
-- '' delivers at send_at.
ALTER TABLE messages ADD COLUMN local_time text NOT NULL DEFAULT '';
