/**
 * Deny users whose email address is not verified (post-login Action).
 *
 * Users must click the link in the verification email before they can log in. Users without an
 * email address (e.g. phone-number logins) are denied too.
 *
 * Configuration: none.
 */
exports.onExecutePostLogin = async (event, api) => {
  if (event.user.email_verified !== true) {
    api.access.deny('Please verify your email address before logging in.');
  }
};
