DROP TABLE initial_access_tokens;
ALTER TABLE clients DROP COLUMN registration_token_digest;
