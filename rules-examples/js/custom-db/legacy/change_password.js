/**
 * Custom database: Change Password (legacy authentication against the legacy user store).
 *
 * Runs on password resets and password changes from the dashboard or the Management API.
 * Answers `true` when the legacy API accepted the new password for an existing user and `false`
 * when there is no such user (Auth0 then reports that the password was not changed). The legacy
 * API also refuses an empty password.
 *
 * The legacy store is read-only here (`configuration.LEGACY_USERS`, a stand-in for the legacy
 * system's API until outbound HTTP is available; see the README): the new password is not
 * stored, so login.js keeps accepting the old one.
 */
function changePassword(email, newPassword, callback) {
  let users;
  try {
    users = JSON.parse(configuration.LEGACY_USERS || '[]');
  } catch (e) {
    return callback(new Error('The legacy user store is unavailable.'));
  }

  if (!newPassword) {
    return callback(new ValidationError('invalid_password', 'The new password must not be empty.'));
  }
  const key = String(email || '').toLowerCase();
  const exists = users.some(function (u) {
    return String(u.email).toLowerCase() === key;
  });
  return callback(null, exists);
}
