ALTER TABLE clients DROP COLUMN require_pushed_requests;
DROP TABLE pushed_authorization_requests;
