-- Who may administer ferrid: 'admin' (everything) or 'auditor' (reads
-- everything, changes nothing); NULL for everyone else.
ALTER TABLE users ADD COLUMN admin_role TEXT;
