-- Registered APIs (resource servers, RFC 8707): the identifier is the
-- `aud` of the access tokens issued for it.
CREATE TABLE apis (
    identifier TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    -- NULL: the server's access-token lifetime and algorithm.
    access_token_ttl BIGINT,
    signing_alg TEXT,
    -- The client whose credentials the API introspects with (NULL: it
    -- may not introspect).
    introspection_client_id TEXT REFERENCES clients (client_id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL
);

-- Scope names are unique across APIs, so a scope names its API.
CREATE TABLE api_scopes (
    name TEXT PRIMARY KEY NOT NULL,
    api_identifier TEXT NOT NULL REFERENCES apis (identifier) ON DELETE CASCADE,
    description TEXT NOT NULL
);
CREATE INDEX api_scopes_api ON api_scopes (api_identifier);

CREATE TABLE api_roles (
    api_identifier TEXT NOT NULL REFERENCES apis (identifier) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    PRIMARY KEY (api_identifier, name)
);

CREATE TABLE user_groups (
    name TEXT PRIMARY KEY NOT NULL,
    description TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE user_group_members (
    group_name TEXT NOT NULL REFERENCES user_groups (name) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (group_name, user_id)
);
CREATE INDEX user_group_members_user ON user_group_members (user_id);

-- A role granted to a user, a group or a client (`principal_kind`).
CREATE TABLE role_grants (
    api_identifier TEXT NOT NULL,
    role TEXT NOT NULL,
    principal_kind TEXT NOT NULL,
    principal TEXT NOT NULL,
    PRIMARY KEY (api_identifier, role, principal_kind, principal),
    FOREIGN KEY (api_identifier, role) REFERENCES api_roles (api_identifier, name) ON DELETE CASCADE
);
CREATE INDEX role_grants_principal ON role_grants (principal_kind, principal);

-- The APIs a code and the grant it creates may mint access tokens for
-- (space-separated identifiers).
ALTER TABLE authorization_codes ADD COLUMN resources TEXT NOT NULL DEFAULT '';
ALTER TABLE grants ADD COLUMN resources TEXT NOT NULL DEFAULT '';
