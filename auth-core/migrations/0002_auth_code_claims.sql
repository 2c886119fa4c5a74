-- The claims the post-login pipeline decided at /authorize, carried to the
-- token exchange so the code flow issues what the Actions decided.
ALTER TABLE auth_codes ADD COLUMN claims TEXT;
