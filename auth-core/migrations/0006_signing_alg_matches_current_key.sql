-- A tenant's signing_alg names the algorithm of its default key. Tenants whose
-- recorded algorithm has no current key (possible before keys per algorithm) take
-- their oldest current key's; tenants that agree already are left alone: otherwise a key a client's algorithm created
-- later could become the default and silently change every access token.
UPDATE tenants SET signing_alg = (
    SELECT alg FROM signing_keys
    WHERE signing_keys.tenant_id = tenants.id AND signing_keys.state = 'current'
    ORDER BY created_at, kid LIMIT 1
)
WHERE EXISTS (
    SELECT 1 FROM signing_keys
    WHERE signing_keys.tenant_id = tenants.id AND signing_keys.state = 'current'
)
AND NOT EXISTS (
    SELECT 1 FROM signing_keys
    WHERE signing_keys.tenant_id = tenants.id AND signing_keys.state = 'current'
      AND signing_keys.alg = tenants.signing_alg
);
