-- A client's own limit on its requests per minute at the token,
-- introspection and revocation endpoints (NULL: the server's default;
-- 0: none).
ALTER TABLE clients ADD COLUMN rate_limit_per_minute INTEGER;
