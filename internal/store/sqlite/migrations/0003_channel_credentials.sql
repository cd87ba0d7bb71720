-- 0003: apps' FCM and APNs credentials, sealed with the master key.

CREATE TABLE app_channel_credentials (
    app_id     TEXT    NOT NULL REFERENCES apps (id),
    channel    TEXT    NOT NULL,
    sealed     BLOB    NOT NULL,
    meta       TEXT    NOT NULL DEFAULT '{}',
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (app_id, channel)
) WITHOUT ROWID;
