DROP TABLE token_counts;
DROP TABLE branding;
ALTER TABLE clients DROP COLUMN disabled;
DROP TABLE admin_sessions;
