-- DPoP (RFC 9449): the thumbprint of the key a public client's grant is
-- bound to (its refresh tokens then need a proof made with that key).
ALTER TABLE grants ADD COLUMN dpop_jkt TEXT;
-- Whether the client's token requests must carry a DPoP proof
-- (dpop_bound_access_tokens, RFC 9449 §5.2).
ALTER TABLE clients ADD COLUMN dpop_bound_access_tokens BOOLEAN NOT NULL DEFAULT FALSE;
