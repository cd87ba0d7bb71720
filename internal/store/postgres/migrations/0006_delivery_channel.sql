-- 0006: the channel each recipient's outcome went through, for stats split
-- by channel.
ALTER TABLE deliveries ADD COLUMN channel text NOT NULL DEFAULT '';
