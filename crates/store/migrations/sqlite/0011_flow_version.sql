-- Every write of a flow bumps its version; the cached copy keeps the version it was made from,
-- so a late writer or reader can never put an older flow over a newer one.
ALTER TABLE flow_flows ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
