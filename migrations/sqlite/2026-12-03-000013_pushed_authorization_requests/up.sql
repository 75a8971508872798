-- Pushed authorization requests (RFC 9126): validated requests a client
-- posted to /par, kept under the digest of their request_uri until the
-- browser brings it to /authorize (once) or they expire.
CREATE TABLE pushed_authorization_requests (
    uri_digest TEXT PRIMARY KEY NOT NULL,
    client_id TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    parameters TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX pushed_authorization_requests_expires_at ON pushed_authorization_requests (expires_at);
-- Whether the client may only start authorization requests pushed first.
ALTER TABLE clients ADD COLUMN require_pushed_requests BOOLEAN NOT NULL DEFAULT 0;
