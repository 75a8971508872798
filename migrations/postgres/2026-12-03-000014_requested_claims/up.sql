-- Claims a client asked for in the ID token with the claims request
-- parameter (OIDC Core §5.5), space-separated, carried from the code to
-- its grant so that every ID token of the grant has them.
ALTER TABLE authorization_codes ADD COLUMN id_token_claims TEXT NOT NULL DEFAULT '';
ALTER TABLE grants ADD COLUMN id_token_claims TEXT NOT NULL DEFAULT '';
