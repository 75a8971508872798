-- Sessions of the admin console: shorter-lived than browser sessions,
-- idle out, and tied to the ferrid session they signed in with (`sid`),
-- so signing out of ferrid signs out of the console too.
CREATE TABLE admin_sessions (
    id_digest TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    sid TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    reauthenticated_at BIGINT NOT NULL
);
CREATE INDEX admin_sessions_expires_at ON admin_sessions (expires_at);

-- A disabled client keeps its settings but gets no token and no code.
ALTER TABLE clients ADD COLUMN disabled BOOLEAN NOT NULL DEFAULT FALSE;

-- What the sign-in pages look like: one row, shared by every node.
CREATE TABLE branding (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    product_name TEXT NOT NULL,
    logo BLOB,
    logo_type TEXT,
    accent_colour TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Tokens issued, counted per hour and grant type. Each node adds what it
-- counted every few seconds, so the counts are shared without a write
-- per token.
CREATE TABLE token_counts (
    hour BIGINT NOT NULL,
    grant_type TEXT NOT NULL,
    issued BIGINT NOT NULL,
    PRIMARY KEY (hour, grant_type)
);
