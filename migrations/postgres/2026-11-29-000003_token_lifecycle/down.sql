DROP TABLE logout_deliveries;
ALTER TABLE clients DROP COLUMN backchannel_logout_uri;
ALTER TABLE clients DROP COLUMN refresh_for_online_sessions;
ALTER TABLE clients DROP COLUMN refresh_absolute_ttl;
ALTER TABLE clients DROP COLUMN refresh_idle_ttl;
ALTER TABLE authorization_codes DROP COLUMN grant_id;
DROP TABLE revoked_access_tokens;
DROP TABLE refresh_tokens;
DROP TABLE grants;
