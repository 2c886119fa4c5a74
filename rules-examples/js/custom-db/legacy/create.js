/**
 * Custom database: Create (legacy authentication against the legacy user store).
 *
 * Called on sign-up with `{email, password, username?, user_metadata?, app_metadata?, tenant,
 * client_id, connection}`. The legacy API refuses an email or username that is already taken
 * (ValidationError `user_exists`) and a malformed email address; otherwise it accepts the user
 * (`callback(null)`).
 *
 * The legacy store is read-only here: it is the connection's `configuration.LEGACY_USERS`, a
 * stand-in for the legacy system's API until outbound HTTP is available (see the README). So
 * this script validates and answers as the legacy API would, but the new user is not kept: a
 * later login.js call will not find it.
 */
function create(user, callback) {
  let users;
  try {
    users = JSON.parse(configuration.LEGACY_USERS || '[]');
  } catch (e) {
    return callback(new Error('The legacy user store is unavailable.'));
  }

  const email = String((user && user.email) || '').toLowerCase();
  if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) {
    return callback(new ValidationError('invalid_email', 'The email address is not valid.'));
  }
  const username = user.username ? String(user.username).toLowerCase() : null;

  const taken = users.some(function (u) {
    return (
      String(u.email).toLowerCase() === email || (username !== null && u.username && String(u.username).toLowerCase() === username)
    );
  });
  if (taken) {
    return callback(new ValidationError('user_exists', 'The user already exists.'));
  }
  return callback(null);
}
