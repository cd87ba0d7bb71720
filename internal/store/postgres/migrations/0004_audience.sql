-- 0004: audience resolution without a probe of the tag table per
-- subscriber: subscribers.tags is a copy of the subscriber's rows in
-- subscriber_tags, sorted, rewritten in the same transaction as every
-- change to them. An audience's tag part is then array operators on the
-- row (tags && OR-list, tags @> AND-list, NOT tags && NOT-list).
ALTER TABLE subscribers ADD COLUMN tags text[] COLLATE "C" NOT NULL DEFAULT '{}';

UPDATE subscribers s SET tags = coalesce((
    SELECT array_agg(t.tag ORDER BY t.tag) FROM subscriber_tags t
    WHERE t.subscriber_id = s.id AND t.app_id = s.app_id), '{}');

-- The EngageLab master secret is no lookup key, and 0001 gave it no index.
