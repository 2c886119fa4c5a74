/**
 * Custom database: Delete (legacy authentication against the legacy user store).
 *
 * Runs when a user is deleted from the dashboard or the Management API, so that the user is
 * removed from the legacy system in the same operation. `id` is the profile's `user_id`
 * (`legacy|<id>`; a bare `<id>` is accepted too). Succeeds (`callback(null)`) for an existing
 * user; an unknown id is an error, so the deletion is reported as failed.
 *
 * The legacy store is read-only here (`configuration.LEGACY_USERS`, a stand-in for the legacy
 * system's API until outbound HTTP is available; see the README): nothing is removed.
 */
function remove(id, callback) {
  let users;
  try {
    users = JSON.parse(configuration.LEGACY_USERS || '[]');
  } catch (e) {
    return callback(new Error('The legacy user store is unavailable.'));
  }

  const legacyId = String(id || '').replace(/^legacy\|/, '');
  const exists = users.some(function (u) {
    return String(u.id) === legacyId;
  });
  if (!exists) {
    return callback(new Error('No user ' + id + ' in the legacy store.'));
  }
  return callback(null);
}
