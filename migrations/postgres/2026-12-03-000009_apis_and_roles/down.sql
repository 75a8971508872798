ALTER TABLE grants DROP COLUMN resources;
ALTER TABLE authorization_codes DROP COLUMN resources;
DROP TABLE role_grants;
DROP TABLE user_group_members;
DROP TABLE user_groups;
DROP TABLE api_roles;
DROP TABLE api_scopes;
DROP TABLE apis;
