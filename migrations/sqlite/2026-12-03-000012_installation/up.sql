-- What every node of one deployment must agree on, recorded by the first
-- node that starts: the public issuer (a node with another issuer would
-- sign tokens the others reject) and a one-way check value of the master
-- key (HMAC-SHA256 under the key, so it reveals nothing about it; a node
-- with another key would seal signing keys the others cannot open).
CREATE TABLE installation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    issuer TEXT NOT NULL,
    master_key_check TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
