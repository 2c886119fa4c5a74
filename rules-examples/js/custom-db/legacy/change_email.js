/**
 * Custom database: Change Email (legacy authentication against the legacy user store).
 *
 * Runs when a user's email address (or its verification status) changes through the Management
 * API. Answers `true` when the legacy API accepted the change, `false` when the current email is
 * unknown; an address already used by another legacy user is refused (ValidationError
 * `user_exists`).
 *
 * The legacy store is read-only here (`configuration.LEGACY_USERS`, a stand-in for the legacy
 * system's API until outbound HTTP is available; see the README): nothing is written.
 */
function changeEmail(email, newEmail, verified, callback) {
  let users;
  try {
    users = JSON.parse(configuration.LEGACY_USERS || '[]');
  } catch (e) {
    return callback(new Error('The legacy user store is unavailable.'));
  }

  const current = String(email || '').toLowerCase();
  const next = String(newEmail || '').toLowerCase();
  const user = users.find(function (u) {
    return String(u.email).toLowerCase() === current;
  });
  if (!user) return callback(null, false);

  if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(next)) {
    return callback(new ValidationError('invalid_email', 'The new email address is not valid.'));
  }
  const taken = users.some(function (u) {
    return u !== user && String(u.email).toLowerCase() === next;
  });
  if (taken) {
    return callback(new ValidationError('user_exists', 'The new email address is already in use.'));
  }
  console.log('legacy user ' + user.id + ': email changed' + (verified ? ' (verified)' : ''));
  return callback(null, true);
}
