/**
 * Email domain allow-list (legacy Rule).
 *
 * The Rule version of actions/email-domain-allowlist.js: only users whose email address belongs
 * to one of the allowed domains may log in. The match is exact and case-insensitive.
 *
 * Configuration (Rules settings, `configuration`):
 *   ALLOWED_DOMAINS  comma-separated domains, e.g. "example.com, example.org"
 * An unset or empty list denies everyone.
 */
function emailDomainAllowList(user, context, callback) {
  const allowed = String(configuration.ALLOWED_DOMAINS || '')
    .split(',')
    .map(function (d) {
      return d.trim().toLowerCase();
    })
    .filter(Boolean);

  const email = String(user.email || '').toLowerCase();
  const domain = email.indexOf('@') === -1 ? '' : email.slice(email.lastIndexOf('@') + 1);

  if (!domain || allowed.indexOf(domain) === -1) {
    return callback(new UnauthorizedError('Access denied: your email domain is not allowed.'));
  }
  return callback(null, user, context);
}
