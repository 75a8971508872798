-- Grants (a family of tokens from one authorization), refresh tokens,
-- revoked access tokens, and per-client refresh settings. Additive only.

CREATE TABLE grants (
    id TEXT PRIMARY KEY NOT NULL,
    client_id TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    sid TEXT NOT NULL,
    scope TEXT NOT NULL,
    auth_time BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX grants_user_id ON grants (user_id);
CREATE INDEX grants_sid ON grants (sid);
CREATE INDEX grants_expires_at ON grants (expires_at);

CREATE TABLE refresh_tokens (
    token_digest TEXT PRIMARY KEY NOT NULL,
    grant_id TEXT NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
    client_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    rotated_at BIGINT,
    grace_used BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX refresh_tokens_grant_id ON refresh_tokens (grant_id);
CREATE INDEX refresh_tokens_expires_at ON refresh_tokens (expires_at);

CREATE TABLE revoked_access_tokens (
    jti TEXT PRIMARY KEY NOT NULL,
    expires_at BIGINT NOT NULL
);

ALTER TABLE authorization_codes ADD COLUMN grant_id TEXT;

ALTER TABLE clients ADD COLUMN refresh_idle_ttl BIGINT;
ALTER TABLE clients ADD COLUMN refresh_absolute_ttl BIGINT;
ALTER TABLE clients ADD COLUMN refresh_for_online_sessions BOOLEAN NOT NULL DEFAULT FALSE;

-- Back-channel logout: the client's receiver, and a durable outbox of
-- logout tokens to deliver, retried with backoff.
ALTER TABLE clients ADD COLUMN backchannel_logout_uri TEXT;

CREATE TABLE logout_deliveries (
    id TEXT PRIMARY KEY NOT NULL,
    client_id TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    uri TEXT NOT NULL,
    sub TEXT NOT NULL,
    sid TEXT NOT NULL,
    alg TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    delivered_at BIGINT,
    last_error TEXT
);
CREATE INDEX logout_deliveries_due ON logout_deliveries (next_attempt_at);

-- JWT client authentication (RFC 7523): the client_secret_jwt secret,
-- sealed under the master key (the one secret not stored as a digest,
-- since it is an HMAC key), the private_key_jwt public keys by value or by
-- URL, and the assertion ids seen, to refuse replays.
ALTER TABLE clients ADD COLUMN secret_sealed TEXT;
ALTER TABLE clients ADD COLUMN jwks TEXT;
ALTER TABLE clients ADD COLUMN jwks_uri TEXT;

CREATE TABLE client_assertions (
    id TEXT PRIMARY KEY NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX client_assertions_expires_at ON client_assertions (expires_at);
