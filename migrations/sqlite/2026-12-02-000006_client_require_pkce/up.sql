-- Whether a confidential client must use PKCE too (RFC 9700 §2.1.1).
-- Clients registered before keep working without it; new ones get it.
ALTER TABLE clients ADD COLUMN require_pkce BOOLEAN NOT NULL DEFAULT 0;
