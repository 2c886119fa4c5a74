/**
 * Multi-factor authentication once per session (post-login Action).
 *
 * Asks for a second factor at login, but not again while the session already carries a
 * completed MFA challenge (`event.authentication.methods` contains `mfa`), e.g. on silent
 * authentication or when a second application joins the session. Refresh-token exchanges are
 * non-interactive and cannot show a challenge, so they are left alone.
 *
 * Configuration: none. `allowRememberBrowser: false` means the device is never trusted
 * permanently; the session is what spares the user a second prompt.
 */
exports.onExecutePostLogin = async (event, api) => {
  const protocol = event.transaction && event.transaction.protocol;
  if (protocol === 'oauth2-refresh-token') return;

  const methods = (event.authentication && event.authentication.methods) || [];
  if (methods.some((m) => m && m.name === 'mfa')) return;

  api.multifactor.enable('any', { allowRememberBrowser: false });
};
