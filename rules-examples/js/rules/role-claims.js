/**
 * Roles in the ID token and the access token (legacy Rule).
 *
 * The Rule version of actions/role-claims.js: copies the user's roles into the namespaced claim
 * `https://example.com/roles` of both tokens. Roles come from RBAC (`context.authorization.roles`)
 * or, for tenants that kept them there, `app_metadata.roles`.
 *
 * Applications whose client metadata has `requires_role: "true"` only admit users with at least
 * one role.
 *
 * Configuration: none.
 */
function addRoleClaims(user, context, callback) {
  const namespace = 'https://example.com/';
  const roles =
    (context.authorization && context.authorization.roles) || (user.app_metadata && user.app_metadata.roles) || [];

  if ((context.clientMetadata || {}).requires_role === 'true' && roles.length === 0) {
    return callback(new UnauthorizedError('You have no role in ' + (context.clientName || 'this application') + '.'));
  }

  context.idToken[namespace + 'roles'] = roles;
  context.accessToken[namespace + 'roles'] = roles;
  return callback(null, user, context);
}
