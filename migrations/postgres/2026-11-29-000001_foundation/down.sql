DROP TABLE consents;
DROP TABLE authorization_codes;
DROP TABLE authorization_requests;
DROP TABLE sessions;
DROP TABLE signing_keys;
DROP TABLE clients;
DROP TABLE users;
