-- One current signing key per tenant *and algorithm*: a client may ask for its
-- ID tokens in another algorithm than the tenant's (jwt_configuration.alg),
-- and that algorithm needs a current key of its own. Signing stays unambiguous:
-- an algorithm names exactly one key.
DROP INDEX signing_keys_one_current;
CREATE UNIQUE INDEX signing_keys_one_current_per_alg ON signing_keys (tenant_id, alg) WHERE state = 'current';
