DROP INDEX signing_keys_one_next;
DROP INDEX signing_keys_one_current;
DROP TABLE leases;
ALTER TABLE clients DROP COLUMN id_token_signed_response_alg;
ALTER TABLE signing_keys DROP COLUMN retired_at;
ALTER TABLE signing_keys DROP COLUMN activates_at;
