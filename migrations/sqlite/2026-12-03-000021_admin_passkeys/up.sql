-- Whether administrators must sign in to the console with a passkey, as
-- an administrator set it in the console (the configuration's
-- passkeys.required_for_admins forces it on whatever this says).
ALTER TABLE installation ADD COLUMN admin_passkeys_required BOOLEAN NOT NULL DEFAULT 0;
