ALTER TABLE grants DROP COLUMN id_token_claims;
ALTER TABLE authorization_codes DROP COLUMN id_token_claims;
