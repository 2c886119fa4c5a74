/**
 * Require MFA for privileged roles (post-login Action).
 *
 * Users holding one of the configured roles (RBAC roles, `event.authorization.roles`) must pass
 * a second factor; other users log in with their first factor only. A session that already
 * completed MFA is not challenged again.
 *
 * Configuration (Action secrets):
 *   MFA_ROLES  comma-separated role names; defaults to "admin"
 */
exports.onExecutePostLogin = async (event, api) => {
  const mfaRoles = String((event.secrets && event.secrets.MFA_ROLES) || 'admin')
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean);
  const roles = (event.authorization && event.authorization.roles) || [];
  const privileged = roles.filter((r) => mfaRoles.includes(r));
  if (privileged.length === 0) return;

  const methods = (event.authentication && event.authentication.methods) || [];
  if (methods.some((m) => m && m.name === 'mfa')) return;

  console.log(`MFA required for role(s) ${privileged.join(', ')}`);
  api.multifactor.enable('any', { allowRememberBrowser: false });
};
