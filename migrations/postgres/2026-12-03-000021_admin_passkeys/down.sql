ALTER TABLE installation DROP COLUMN admin_passkeys_required;
