/**
 * Roles in the ID token and the access token (post-login Action).
 *
 * Copies the user's RBAC roles (`event.authorization.roles`) into a namespaced custom claim of
 * both tokens, so the front end can adapt its UI and the API can authorise without a lookup.
 *
 * Applications whose client metadata has `requires_role: "true"` only admit users with at
 * least one role; everyone else is denied there.
 *
 * Configuration: none (set `requires_role` in the application's metadata where needed).
 * Claim: https://example.com/roles  (array of role names, possibly empty)
 */
const NAMESPACE = 'https://example.com';

exports.onExecutePostLogin = async (event, api) => {
  const roles = (event.authorization && event.authorization.roles) || [];
  const clientMeta = (event.client && event.client.metadata) || {};

  if (clientMeta.requires_role === 'true' && roles.length === 0) {
    api.access.deny(`You have no role in ${event.client.name || 'this application'}.`);
    return;
  }

  api.idToken.setCustomClaim(`${NAMESPACE}/roles`, roles);
  api.accessToken.setCustomClaim(`${NAMESPACE}/roles`, roles);
};
