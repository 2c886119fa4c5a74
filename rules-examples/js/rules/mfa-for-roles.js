/**
 * Require MFA for privileged roles (legacy Rule).
 *
 * Users holding one of the configured roles must pass a second factor. Roles come from RBAC
 * (`context.authorization.roles`) or, for tenants that kept them there, `app_metadata.roles`.
 * A session that already completed MFA, and refresh-token exchanges (which cannot show a
 * challenge), are left alone.
 *
 * Configuration (Rules settings, `configuration`):
 *   MFA_ROLES  comma-separated role names; defaults to "admin"
 */
function mfaForRoles(user, context, callback) {
  const mfaRoles = String(configuration.MFA_ROLES || 'admin')
    .split(',')
    .map(function (r) {
      return r.trim();
    })
    .filter(Boolean);
  const roles =
    (context.authorization && context.authorization.roles) || (user.app_metadata && user.app_metadata.roles) || [];
  const privileged = roles.some(function (r) {
    return mfaRoles.indexOf(r) !== -1;
  });
  if (!privileged || context.protocol === 'oauth2-refresh-token') {
    return callback(null, user, context);
  }

  const methods = (context.authentication && context.authentication.methods) || [];
  const completedMfa = methods.some(function (m) {
    return m && m.name === 'mfa';
  });
  if (!completedMfa) {
    context.multifactor = { provider: 'any', allowRememberBrowser: false };
  }
  return callback(null, user, context);
}
