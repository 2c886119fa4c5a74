/**
 * Terms-of-service acceptance through a redirect (legacy Rule).
 *
 * The Rule version of actions/tos-redirect.js. Users without `app_metadata.tos_accepted` are
 * sent to the terms page (`context.redirect`) before their login completes. The page records the
 * acceptance in the user's app_metadata (Management API) and posts back to `/continue` with
 * `tos_accepted=yes`; the rules then run again with `context.protocol === 'redirect-callback'`,
 * and this rule lets the login finish only if the terms were accepted.
 *
 * Non-interactive logins (refresh tokens, resource-owner password grants) cannot follow a
 * redirect: they are denied until the terms are accepted in an interactive login.
 *
 * Configuration (Rules settings, `configuration`):
 *   TOS_URL      the terms page, e.g. "https://example.com/tos"
 *   TOS_VERSION  optional, passed to the page as `version`
 */
function termsOfServiceRedirect(user, context, callback) {
  const meta = user.app_metadata || {};

  if (context.protocol === 'redirect-callback') {
    const params = Object.assign({}, (context.request && context.request.query) || {}, (context.request && context.request.body) || {});
    if (params.tos_accepted !== 'yes') {
      return callback(new UnauthorizedError('You must accept the terms of service to continue.'));
    }
    return callback(null, user, context);
  }

  if (meta.tos_accepted) {
    return callback(null, user, context);
  }

  const interactive = ['oauth2-refresh-token', 'oauth2-resource-owner', 'oauth2-password'].indexOf(context.protocol) === -1;
  if (!interactive) {
    return callback(new UnauthorizedError('Please log in interactively and accept the terms of service.'));
  }

  context.redirect = {
    url: configuration.TOS_URL + '?version=' + encodeURIComponent(configuration.TOS_VERSION || 'current'),
  };
  return callback(null, user, context);
}
