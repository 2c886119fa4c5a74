/**
 * Access-token scopes by role (post-login Action).
 *
 * Grants each user the API scopes that their RBAC roles carry, and strips requested scopes that
 * belong to the mapping but that none of the user's roles grant (scopes outside the mapping, like
 * `openid` or `profile`, are left alone). Only tokens for the configured API are touched.
 *
 * Configuration (Action secrets):
 *   AUDIENCE     the API identifier, e.g. "https://api.example.com"
 *   ROLE_SCOPES  JSON object, role name -> scopes, e.g.
 *                {"admin": ["read:reports", "write:reports"], "analyst": ["read:reports"]}
 * A ROLE_SCOPES that is not valid JSON denies logins to the API (fail closed) and logs an error.
 */
exports.onExecutePostLogin = async (event, api) => {
  const secrets = event.secrets || {};
  const audience = event.resource_server && event.resource_server.identifier;
  if (!secrets.AUDIENCE || audience !== secrets.AUDIENCE) return;

  let mapping;
  try {
    mapping = JSON.parse(secrets.ROLE_SCOPES || '{}');
  } catch (e) {
    // Fail closed: without a readable mapping, no token for this API can be trusted.
    console.error('ROLE_SCOPES is not valid JSON');
    api.access.deny('Access to this API is temporarily unavailable.');
    return;
  }

  const managed = new Set();
  for (const scopes of Object.values(mapping)) for (const s of scopes) managed.add(s);

  const granted = [];
  for (const role of (event.authorization && event.authorization.roles) || []) {
    for (const scope of mapping[role] || []) if (!granted.includes(scope)) granted.push(scope);
  }

  const requested = (event.transaction && event.transaction.requested_scopes) || [];
  for (const scope of granted) {
    if (!requested.includes(scope)) api.accessToken.addScope(scope);
  }
  for (const scope of requested) {
    if (managed.has(scope) && !granted.includes(scope)) api.accessToken.removeScope(scope);
  }
};
