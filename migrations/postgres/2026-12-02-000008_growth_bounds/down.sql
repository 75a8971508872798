DROP INDEX audit_events_aggregate;
ALTER TABLE audit_events DROP COLUMN aggregate_key;
ALTER TABLE audit_events DROP COLUMN last_at;
ALTER TABLE audit_events DROP COLUMN repeats;
DROP INDEX authorization_requests_browser;
ALTER TABLE authorization_requests DROP COLUMN browser_digest;
