/**
 * Custom database: Verify (legacy authentication against the legacy user store).
 *
 * Runs when the user follows the link in Auth0's verification email: the legacy API marks the
 * email as verified and answers `true` (also when it was verified already). An unknown email is
 * an error.
 *
 * The legacy store is read-only here (`configuration.LEGACY_USERS`, a stand-in for the legacy
 * system's API until outbound HTTP is available; see the README): the answer is the one the
 * legacy API would give, but nothing is written.
 */
function verify(email, callback) {
  let users;
  try {
    users = JSON.parse(configuration.LEGACY_USERS || '[]');
  } catch (e) {
    return callback(new Error('The legacy user store is unavailable.'));
  }

  const key = String(email || '').toLowerCase();
  const user = users.find(function (u) {
    return String(u.email).toLowerCase() === key;
  });
  if (!user) {
    return callback(new Error('No user with this email address in the legacy store.'));
  }
  return callback(null, true);
}
