-- 0006: the channel each recipient's outcome went through, for stats split
-- by channel. Rows written before it have ''.

ALTER TABLE deliveries ADD COLUMN channel TEXT NOT NULL DEFAULT '';
