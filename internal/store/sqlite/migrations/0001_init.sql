-- 0001: apps, subscribers and their tags. Every row is keyed by app.
-- Times are INTEGER unix milliseconds; NULL means "never".

CREATE TABLE apps (
    id                    TEXT    NOT NULL PRIMARY KEY,
    name                  TEXT    NOT NULL,
    created_at            INTEGER NOT NULL,
    -- Credentials. NULL when the app has none of that kind, so that UNIQUE
    -- only ever compares real values.
    api_key_hash          BLOB    UNIQUE,
    engagelab_app_key     TEXT    UNIQUE,
    engagelab_secret_hash BLOB,
    najva_token_hash      BLOB    UNIQUE,
    najva_api_key         TEXT    UNIQUE,
    webtoapp_key_hash     BLOB    UNIQUE,
    vapid_public_key      BLOB,
    vapid_private_enc     BLOB,
    vapid_subject         TEXT    NOT NULL DEFAULT ''
);

-- The EngageLab master secret is not unique on its own (the app key is), but
-- it can still be looked up.
CREATE INDEX apps_engagelab_secret_hash ON apps (engagelab_secret_hash);

-- AUTOINCREMENT: an id is never handed out twice, even after the highest row
-- was deleted, so delivery outcomes keyed by id cannot land on a newcomer.
CREATE TABLE subscribers (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id          TEXT    NOT NULL REFERENCES apps (id),
    registration_id TEXT    NOT NULL UNIQUE,
    channel         TEXT    NOT NULL,
    token           TEXT    NOT NULL,
    p256dh          BLOB,
    auth            BLOB,
    alias           TEXT    NOT NULL DEFAULT '',
    language        TEXT    NOT NULL DEFAULT '',
    timezone        TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    last_active_at  INTEGER NOT NULL,
    last_clicked_at INTEGER,
    UNIQUE (app_id, channel, token)
);

CREATE INDEX subscribers_app_alias ON subscribers (app_id, alias);

-- Walks one app's subscribers in id order. UNIQUE (trivially true, since id
-- is) so that subscriber_tags can reference (app_id, id): a tag row can then
-- never point at another app's subscriber.
CREATE UNIQUE INDEX subscribers_app_id ON subscribers (app_id, id);

-- One row per (app, tag, subscriber). WITHOUT ROWID: the primary key is the
-- table, so "subscribers of app A with tag T, in id order" is one range scan
-- of the b-tree with no lookups, which is what audience resolution streams.
CREATE TABLE subscriber_tags (
    app_id        TEXT    NOT NULL,
    tag           TEXT    NOT NULL,
    subscriber_id INTEGER NOT NULL,
    PRIMARY KEY (app_id, tag, subscriber_id),
    FOREIGN KEY (app_id, subscriber_id)
        REFERENCES subscribers (app_id, id) ON DELETE CASCADE
) WITHOUT ROWID;

-- A subscriber's tags (reads, replacement) and the cascade on delete, which
-- looks rows up by the foreign key's columns.
CREATE INDEX subscriber_tags_subscriber ON subscriber_tags (subscriber_id, app_id);
