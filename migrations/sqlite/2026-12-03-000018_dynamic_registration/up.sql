-- Dynamic client registration (RFC 7591, RFC 7592): the digest of the
-- registration access token a dynamically registered client manages
-- itself with (NULL for clients an administrator registered).
ALTER TABLE clients ADD COLUMN registration_token_digest TEXT;
-- Initial access tokens an administrator issued to gate registration:
-- kept as digests, each good until it expires or its uses run out
-- (NULL: any number).
CREATE TABLE initial_access_tokens (
    token_digest TEXT PRIMARY KEY NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    uses_left BIGINT
);
