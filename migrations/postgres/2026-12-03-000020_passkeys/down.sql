ALTER TABLE users DROP COLUMN passwordless;
ALTER TABLE users DROP COLUMN passkeys;
DROP TABLE webauthn_challenges;
DROP TABLE passkeys;
