/**
 * Custom database: Get User (legacy authentication against the legacy user store).
 *
 * Looks a user up by email without authenticating them (sign-up, password reset and email
 * changes ask first whether the user exists). Returns the same profile as login.js, or
 * `callback(null)` when there is no such user.
 *
 * The legacy store is the connection's `configuration.LEGACY_USERS` (JSON array of users), a
 * stand-in for the legacy system's API until outbound HTTP is available; see login.js and the
 * README.
 */
function getUser(email, callback) {
  function toProfile(u) {
    const profile = {
      user_id: 'legacy|' + u.id,
      email: String(u.email).toLowerCase(),
      email_verified: u.verified === true,
      name: u.name || String(u.email).toLowerCase(),
      user_metadata: u.user_metadata || {},
      app_metadata: { legacy_id: String(u.id), plan: u.plan || 'free' },
    };
    if (u.username) profile.username = u.username;
    if (u.given_name) profile.given_name = u.given_name;
    if (u.family_name) profile.family_name = u.family_name;
    return profile;
  }

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
  if (!user) return callback(null);
  return callback(null, toProfile(user));
}
