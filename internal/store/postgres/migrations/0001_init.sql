-- 0001: apps, subscribers and their tags. Every row is keyed by app.
-- Times are bigint unix milliseconds, as in the SQLite store; NULL means
-- "never". Text that is sorted or compared as bytes (tags) uses the "C"
-- collation, so the order is the same as Go's and SQLite's whatever the
-- database's locale.

CREATE TABLE apps (
    id                    text    NOT NULL PRIMARY KEY,
    -- Insertion order, to break created_at ties (SQLite's rowid).
    seq                   bigint  GENERATED ALWAYS AS IDENTITY,
    name                  text    NOT NULL,
    created_at            bigint  NOT NULL,
    -- Credentials. NULL when the app has none of that kind, so that UNIQUE
    -- only ever compares real values.
    api_key_hash          bytea   UNIQUE,
    engagelab_app_key     text    UNIQUE,
    engagelab_secret_hash bytea,
    najva_token_hash      bytea   UNIQUE,
    najva_api_key         text    UNIQUE,
    webtoapp_key_hash     bytea   UNIQUE,
    vapid_public_key      bytea,
    vapid_private_enc     bytea,
    vapid_subject         text    NOT NULL DEFAULT ''
);

-- An identity column never hands an id out twice, even after the highest
-- row was deleted, so delivery outcomes keyed by id cannot land on a
-- newcomer.
CREATE TABLE subscribers (
    id              bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    app_id          text    NOT NULL REFERENCES apps (id),
    registration_id text    NOT NULL UNIQUE,
    channel         text    NOT NULL,
    token           text    NOT NULL,
    p256dh          bytea,
    auth            bytea,
    alias           text    NOT NULL DEFAULT '',
    language        text    NOT NULL DEFAULT '',
    timezone        text    NOT NULL DEFAULT '',
    created_at      bigint  NOT NULL,
    updated_at      bigint  NOT NULL,
    last_active_at  bigint  NOT NULL,
    last_clicked_at bigint,
    UNIQUE (app_id, channel, token)
);

CREATE INDEX subscribers_app_alias ON subscribers (app_id, alias);

-- Walks one app's subscribers in id order; UNIQUE so that subscriber_tags
-- can reference (app_id, id): a tag row can never point at another app's
-- subscriber.
CREATE UNIQUE INDEX subscribers_app_id ON subscribers (app_id, id);

-- One row per (app, tag, subscriber). The primary key is the tag index:
-- "subscribers of app A with tag T, in id order" is one range scan.
CREATE TABLE subscriber_tags (
    app_id        text    NOT NULL,
    tag           text    COLLATE "C" NOT NULL,
    subscriber_id bigint  NOT NULL,
    PRIMARY KEY (app_id, tag, subscriber_id),
    FOREIGN KEY (app_id, subscriber_id)
        REFERENCES subscribers (app_id, id) ON DELETE CASCADE
);

-- A subscriber's tags (reads, replacement) and the cascade on delete.
CREATE INDEX subscriber_tags_subscriber ON subscriber_tags (subscriber_id, app_id);
