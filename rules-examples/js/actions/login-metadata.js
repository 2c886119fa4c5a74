/**
 * Login bookkeeping in app_metadata (post-login Action).
 *
 * Records when the user first logged in (`first_login_at`, set once) and keeps a copy of the
 * login counter (`login_count`, from `event.stats.logins_count`) in app_metadata, where the
 * application's back end can read it with the rest of the profile. On the very first login the
 * ID token also carries `https://example.com/first_login: true`, so the application can show
 * its onboarding.
 *
 * Users who already logged in before this Action was deployed get `first_login_at` at their next
 * login (the earliest time this Action saw them).
 *
 * Metadata changes are batched by the platform and persisted once at the end of the login flow.
 * Configuration: none.
 */
const NAMESPACE = 'https://example.com';

exports.onExecutePostLogin = async (event, api) => {
  const meta = event.user.app_metadata || {};
  const count = (event.stats && event.stats.logins_count) || 0;

  if (!meta.first_login_at) {
    api.user.setAppMetadata('first_login_at', new Date().toISOString());
  }
  if (count <= 1) {
    api.idToken.setCustomClaim(`${NAMESPACE}/first_login`, true);
  }
  api.user.setAppMetadata('login_count', count);
};
