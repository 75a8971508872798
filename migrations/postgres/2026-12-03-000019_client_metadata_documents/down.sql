ALTER TABLE clients DROP COLUMN metadata_fetched_at;
