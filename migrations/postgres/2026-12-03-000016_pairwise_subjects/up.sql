-- Pairwise subject identifiers (OIDC Core §8): the sector a client's
-- subjects are computed for (NULL: the client sees public subjects, the
-- user ids), fixed at registration so a client's sub values never change.
ALTER TABLE clients ADD COLUMN pairwise_sector TEXT;
-- The secret salt of every pairwise sub, sealed under the master key
-- (and moved by key rewrap); drawn once, by the first node that needs it.
ALTER TABLE installation ADD COLUMN pairwise_salt_sealed TEXT;
