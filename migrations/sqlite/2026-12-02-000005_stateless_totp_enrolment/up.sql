-- TOTP enrolment no longer stores a pending secret: the enrolment page
-- carries it sealed in its form, so opening the page changes nothing.
ALTER TABLE users DROP COLUMN totp_pending_sealed;
