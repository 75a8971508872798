-- Key lifecycle (next -> current -> retired -> deleted, or revoked), the
-- per-client ID token algorithm, and leases for jobs that must run once
-- across nodes. Additive only, so an older node keeps working beside it.

ALTER TABLE signing_keys ADD COLUMN activates_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE signing_keys ADD COLUMN retired_at BIGINT;
UPDATE signing_keys SET activates_at = created_at;
-- At most one current and one next key per algorithm, whatever the nodes
-- and their clocks do: a second one fails instead of splitting the state.
CREATE UNIQUE INDEX signing_keys_one_current ON signing_keys (alg) WHERE state = 'current';
CREATE UNIQUE INDEX signing_keys_one_next ON signing_keys (alg) WHERE state = 'next';

ALTER TABLE clients ADD COLUMN id_token_signed_response_alg TEXT NOT NULL DEFAULT 'RS256';

CREATE TABLE leases (
    name TEXT PRIMARY KEY NOT NULL,
    holder TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
