-- Bounds on what unauthenticated requests can make the database hold.

-- Pending authorization requests remember the browser that made them
-- (a digest of its anti-forgery cookie), so each browser keeps only its
-- newest few.
ALTER TABLE authorization_requests ADD COLUMN browser_digest TEXT;
CREATE INDEX authorization_requests_browser ON authorization_requests (browser_digest, created_at);

-- Repeated failed sign-ins for one name within a window are one row with
-- a count: `aggregate_key` is a digest of the event and the name.
ALTER TABLE audit_events ADD COLUMN repeats INTEGER NOT NULL DEFAULT 1;
ALTER TABLE audit_events ADD COLUMN last_at BIGINT;
ALTER TABLE audit_events ADD COLUMN aggregate_key TEXT;
CREATE INDEX audit_events_aggregate ON audit_events (aggregate_key, at);
