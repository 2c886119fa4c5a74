/**
 * Terms-of-service acceptance (post-login Action with a redirect).
 *
 * Users who have not accepted the current terms (`app_metadata.tos_accepted` missing, or set to
 * an older version than TOS_VERSION) are sent to the terms page before their login completes.
 * The page receives the user id and the version to show as query parameters (the platform adds
 * `state`); it records the acceptance and sends the browser back to `/continue`, where
 * `onContinuePostLogin` stores the accepted version in app_metadata.
 *
 * Non-interactive logins (refresh tokens, resource-owner password grants) cannot show a page:
 * they are denied until the terms are accepted in an interactive login.
 *
 * Configuration (Action secrets):
 *   TOS_URL      the terms page, e.g. "https://example.com/tos"
 *   TOS_VERSION  optional, the current version of the terms, e.g. "2026-01"
 */
const NON_INTERACTIVE = ['oauth2-refresh-token', 'oauth2-resource-owner', 'oauth2-password', 'oauth2-device-code'];

function currentVersion(event) {
  return (event.secrets && event.secrets.TOS_VERSION) || 'current';
}

function hasAccepted(event) {
  const accepted = (event.user.app_metadata || {}).tos_accepted;
  if (!accepted) return false;
  const version = event.secrets && event.secrets.TOS_VERSION;
  return !version || accepted === version;
}

exports.onExecutePostLogin = async (event, api) => {
  if (hasAccepted(event)) return;

  const protocol = event.transaction && event.transaction.protocol;
  if (NON_INTERACTIVE.includes(protocol)) {
    api.access.deny('Please log in interactively and accept the terms of service.');
    return;
  }

  const url = event.secrets && event.secrets.TOS_URL;
  if (!url) {
    console.error('TOS_URL is not configured');
    api.access.deny('The terms of service cannot be shown right now.');
    return;
  }
  api.redirect.sendUserTo(url, {
    query: { user_id: event.user.user_id, version: currentVersion(event) },
  });
};

// Runs when the terms page sends the browser back to /continue with `tos_accepted=yes`.
exports.onContinuePostLogin = async (event, api) => {
  const params = Object.assign({}, event.request.query, event.request.body);
  if (params.tos_accepted !== 'yes') {
    api.access.deny('You must accept the terms of service to continue.');
    return;
  }
  api.user.setAppMetadata('tos_accepted', currentVersion(event));
};
