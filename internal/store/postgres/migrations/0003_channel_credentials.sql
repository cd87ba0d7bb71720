-- 0003: apps' FCM and APNs credentials, sealed with the master key.

CREATE TABLE app_channel_credentials (
    app_id     text    NOT NULL REFERENCES apps (id),
    channel    text    NOT NULL,
    sealed     bytea   NOT NULL,
    meta       text    NOT NULL DEFAULT '{}',
    updated_at bigint  NOT NULL,
    PRIMARY KEY (app_id, channel)
);
