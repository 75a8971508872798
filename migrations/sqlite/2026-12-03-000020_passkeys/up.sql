-- Passkeys (WebAuthn public key credentials). The public key is the
-- COSE key the authenticator gave, base64url; nothing here is secret, but
-- the credential id is unique across users so a sign-in finds its owner.
CREATE TABLE passkeys (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id TEXT NOT NULL UNIQUE,
    public_key TEXT NOT NULL,
    algorithm BIGINT NOT NULL,
    sign_count BIGINT NOT NULL,
    backup_eligible BOOLEAN NOT NULL,
    backed_up BOOLEAN NOT NULL,
    aaguid TEXT NOT NULL,
    transports TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE INDEX passkeys_user_id ON passkeys (user_id);

-- WebAuthn challenges, single-use and short-lived, in the database so a
-- ceremony started on one node can finish on another. Stored as digests
-- and bound to what started them (a pending sign-in, a session or an
-- invitation link), for a purpose.
CREATE TABLE webauthn_challenges (
    challenge_digest TEXT PRIMARY KEY NOT NULL,
    purpose TEXT NOT NULL,
    binding TEXT NOT NULL,
    user_id TEXT,
    expires_at BIGINT NOT NULL
);
CREATE INDEX webauthn_challenges_expires_at ON webauthn_challenges (expires_at);

-- How many passkeys the user has (kept with the passkeys table in one
-- transaction), so "has a second factor" needs no extra query, and whether
-- the account was created without a password (it never gets one).
ALTER TABLE users ADD COLUMN passkeys BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN passwordless BOOLEAN NOT NULL DEFAULT 0;
