-- Client ID metadata documents: for a client whose id is the URL of its
-- metadata, when the document was last fetched (NULL for every other
-- client); it is fetched again when this is old.
ALTER TABLE clients ADD COLUMN metadata_fetched_at BIGINT;
