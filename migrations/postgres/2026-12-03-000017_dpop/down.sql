ALTER TABLE grants DROP COLUMN dpop_jkt;
ALTER TABLE clients DROP COLUMN dpop_bound_access_tokens;
