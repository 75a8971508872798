ALTER TABLE users DROP COLUMN admin_role;
