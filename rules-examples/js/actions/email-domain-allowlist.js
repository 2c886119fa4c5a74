/**
 * Email domain allow-list (post-login Action).
 *
 * Only users whose email address belongs to one of the allowed domains may log in; everyone
 * else is denied. The match is exact and case-insensitive: a sub-domain such as
 * `corp.example.com` does not match `example.com` (list it too if it should).
 *
 * Configuration (Action secrets):
 *   ALLOWED_DOMAINS  comma-separated domains, e.g. "example.com, example.org"
 * An unset or empty list denies everyone: the Action fails closed.
 */
exports.onExecutePostLogin = async (event, api) => {
  const secrets = event.secrets || {};
  const allowed = String(secrets.ALLOWED_DOMAINS || '')
    .split(',')
    .map((d) => d.trim().toLowerCase())
    .filter(Boolean);

  const email = String(event.user.email || '').toLowerCase();
  const at = email.lastIndexOf('@');
  const domain = at === -1 ? '' : email.slice(at + 1);

  if (!domain || !allowed.includes(domain)) {
    console.log(`denied login for domain "${domain}"`);
    api.access.deny('Access denied: your email domain is not allowed to use this application.');
  }
};
