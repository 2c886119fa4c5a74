-- Refresh tokens get an inactivity lifetime: each token's own `expires_at`
-- is now the earlier of its family's absolute end and its idle deadline
-- (issue time + the idle lifetime), and `family_expires_at` keeps the
-- absolute end that every rotation of the family inherits. Tokens issued
-- before had only the absolute lifetime, which they keep.
ALTER TABLE refresh_tokens ADD COLUMN family_expires_at BIGINT NOT NULL DEFAULT 0;
UPDATE refresh_tokens SET family_expires_at = expires_at;
