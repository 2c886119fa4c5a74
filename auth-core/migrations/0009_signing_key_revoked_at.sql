-- When a signing key was revoked, as Auth0's key list reports it. Keys
-- revoked before this column existed keep NULL: the time was not recorded.
ALTER TABLE signing_keys ADD COLUMN revoked_at BIGINT;
