ALTER TABLE users ADD COLUMN totp_pending_sealed TEXT;
