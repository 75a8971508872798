-- Device authorization requests (RFC 8628): what a device asked for,
-- under the digests of its device code (which the device polls with) and
-- of its user code (which the user types), until it expires. Approval
-- stores an authorization code bound to the device code, so the grant is
-- created, and a replay detected, as for the code grant.
CREATE TABLE device_authorizations (
    device_code_digest TEXT PRIMARY KEY NOT NULL,
    user_code_digest TEXT NOT NULL UNIQUE,
    client_id TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    resources TEXT NOT NULL,
    -- pending, approved or denied.
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    -- Seconds the device must wait between polls (grows with slow_down).
    poll_interval BIGINT NOT NULL,
    last_polled_at BIGINT
);
CREATE INDEX device_authorizations_expires_at ON device_authorizations (expires_at);
