/**
 * Login throttle with the Actions cache (post-login Action).
 *
 * Allows each user at most MAX_LOGINS logins per window of WINDOW_SECONDS; further logins in the
 * same window are denied. The counter lives in `api.cache` as JSON `{"count", "since"}` under
 * `logins:<user_id>`, with a time-to-live that ends with the window.
 *
 * The Actions cache is best effort (an entry may vanish early), so this is a soft limit against
 * scripted login loops, not an accounting system: when the entry is gone, counting restarts.
 *
 * Configuration (Action secrets):
 *   MAX_LOGINS      logins allowed per window; default 5
 *   WINDOW_SECONDS  window length; default 60
 */
exports.onExecutePostLogin = async (event, api) => {
  const secrets = event.secrets || {};
  const max = Number(secrets.MAX_LOGINS) > 0 ? Number(secrets.MAX_LOGINS) : 5;
  const windowMs = (Number(secrets.WINDOW_SECONDS) > 0 ? Number(secrets.WINDOW_SECONDS) : 60) * 1000;
  const key = `logins:${event.user.user_id}`;
  const now = Date.now();

  let state = null;
  const entry = api.cache.get(key);
  if (entry) {
    try {
      state = JSON.parse(entry.value);
    } catch (e) {
      state = null; // unreadable entry: start over
    }
  }
  if (!state || typeof state.count !== 'number' || !(now - state.since < windowMs)) {
    state = { count: 0, since: now };
  }

  if (state.count >= max) {
    const wait = Math.ceil((state.since + windowMs - now) / 1000);
    api.access.deny(`Too many logins. Try again in ${wait} s.`);
    return;
  }

  state.count += 1;
  api.cache.set(key, JSON.stringify(state), { ttl: state.since + windowMs - now });
};
