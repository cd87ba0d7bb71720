-- 0004: audience resolution reads one narrow index instead of probing the
-- tag table once per subscriber and tag.
--
-- subscribers.tags is a copy of the subscriber's rows in subscriber_tags,
-- as a JSON array of strings sorted by tag. subscriber_tags stays the
-- source of truth (listing by tag, counts); the store rewrites the copy in
-- the same transaction as every change to a subscriber's tags.
ALTER TABLE subscribers ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';

UPDATE subscribers SET tags = (
    SELECT json_group_array(tag) FROM (
        SELECT t.tag FROM subscriber_tags t
        WHERE t.subscriber_id = subscribers.id AND t.app_id = subscribers.app_id
        ORDER BY t.tag));

-- Everything an audience expression looks at, in id order per app: the
-- fanout streams an audience as one range scan of this index, about 60
-- bytes a subscriber, and never reads the table's wide rows (token, keys).
CREATE INDEX subscribers_audience ON subscribers
    (app_id, id, channel, last_active_at, language, timezone, alias, tags);

-- The EngageLab master secret is no longer a lookup key (AppByCredential
-- refuses it), so its index only cost writes.
DROP INDEX apps_engagelab_secret_hash;
