ALTER TABLE clients DROP COLUMN pairwise_sector;
ALTER TABLE installation DROP COLUMN pairwise_salt_sealed;
