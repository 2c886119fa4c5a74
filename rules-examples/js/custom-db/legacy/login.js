/**
 * Custom database: Login (legacy authentication against the legacy user store).
 *
 * Checks the email (or username) and password against the legacy store and returns the user's
 * profile. The profile is built exactly as in get_user.js, so both scripts agree on every field
 * and on the stable `user_id` (`legacy|<id>`).
 *
 * The legacy store: until rulebox grants outbound HTTP to custom-database scripts, the legacy
 * system's user table is handed in through the connection's configuration:
 *   LEGACY_USERS  JSON array of users:
 *                 {"id", "email", "username"?, "name", "given_name"?, "family_name"?,
 *                  "password_hash", "verified", "locked"?, "plan"?, "user_metadata"?}
 * and `password_hash` is the legacy system's hash, "fnv1a64$<salt>$<16 hex digits>": 64-bit
 * FNV-1a over the UTF-8 bytes of salt + password. FNV-1a is NOT a password hash; it stands in
 * for the legacy system's own hashing (bcrypt, PBKDF2, ...) so the example runs without I/O.
 * With outbound HTTP, this script would POST the credentials to the legacy API instead.
 *
 * Results: the profile on success; WrongUsernameOrPasswordError for an unknown user or a wrong
 * password; UnauthorizedError for an account locked in the legacy system; Error when the store
 * cannot be read.
 */
function login(usernameOrEmail, password, callback) {
  function utf8(text) {
    const bytes = [];
    for (const ch of String(text)) {
      const c = ch.codePointAt(0);
      if (c < 0x80) bytes.push(c);
      else if (c < 0x800) bytes.push(0xc0 | (c >> 6), 0x80 | (c & 63));
      else if (c < 0x10000) bytes.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
      else bytes.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    }
    return bytes;
  }

  function fnv1a64(text) {
    let hash = 0xcbf29ce484222325n;
    for (const b of utf8(text)) {
      hash ^= BigInt(b);
      hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
    }
    return hash.toString(16).padStart(16, '0');
  }

  /** Compares every character, so the time taken does not tell how much matched. */
  function sameText(a, b) {
    let diff = a.length ^ b.length;
    for (let i = 0; i < Math.max(a.length, b.length); i++) diff |= (a.charCodeAt(i) | 0) ^ (b.charCodeAt(i) | 0);
    return diff === 0;
  }

  function passwordMatches(stored, candidate) {
    const parts = String(stored || '').split('$');
    if (parts.length !== 3 || parts[0] !== 'fnv1a64') return false;
    return sameText(fnv1a64(parts[1] + candidate), parts[2].toLowerCase());
  }

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

  const key = String(usernameOrEmail || '').toLowerCase();
  const user = users.find(function (u) {
    return String(u.email).toLowerCase() === key || (u.username && String(u.username).toLowerCase() === key);
  });
  if (!user || !passwordMatches(user.password_hash, String(password))) {
    return callback(new WrongUsernameOrPasswordError(usernameOrEmail, 'Wrong email or password.'));
  }
  if (user.locked === true) {
    return callback(new UnauthorizedError('This account is locked. Please contact support.'));
  }
  return callback(null, toProfile(user));
}
