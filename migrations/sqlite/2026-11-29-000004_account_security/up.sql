-- Account security: TOTP and recovery codes, login throttling, e-mail
-- tokens, the audit log, and the authentication methods carried from a
-- login to the tokens it leads to. Additive only.

ALTER TABLE users ADD COLUMN totp_secret_sealed TEXT;
ALTER TABLE users ADD COLUMN totp_pending_sealed TEXT;
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;

ALTER TABLE clients ADD COLUMN require_mfa BOOLEAN NOT NULL DEFAULT 0;

ALTER TABLE authorization_requests ADD COLUMN mfa_user_id TEXT;
-- Whether that user is stepping up an existing session (no password was
-- given for this request) rather than finishing a password login.
ALTER TABLE authorization_requests ADD COLUMN mfa_step_up BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE authorization_codes ADD COLUMN amr TEXT NOT NULL DEFAULT 'pwd';
ALTER TABLE grants ADD COLUMN amr TEXT NOT NULL DEFAULT 'pwd';

CREATE TABLE recovery_codes (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_digest TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    used_at BIGINT,
    PRIMARY KEY (user_id, code_digest)
);

-- Consecutive credential failures per account, or per login name when no
-- account has it, so that throttling looks the same either way.
CREATE TABLE login_throttles (
    subject TEXT PRIMARY KEY NOT NULL,
    failures BIGINT NOT NULL,
    locked_until BIGINT,
    updated_at BIGINT NOT NULL
);
CREATE INDEX login_throttles_updated_at ON login_throttles (updated_at);

CREATE TABLE email_tokens (
    token_digest TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL,
    email TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX email_tokens_user_id ON email_tokens (user_id);
CREATE INDEX email_tokens_expires_at ON email_tokens (expires_at);

CREATE TABLE audit_events (
    id TEXT PRIMARY KEY NOT NULL,
    at BIGINT NOT NULL,
    event TEXT NOT NULL,
    outcome TEXT NOT NULL,
    actor TEXT,
    subject TEXT,
    client_id TEXT,
    ip TEXT,
    request_id TEXT,
    detail TEXT
);
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_subject ON audit_events (subject);
