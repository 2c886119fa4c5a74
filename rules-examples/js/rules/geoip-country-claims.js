/**
 * GeoIP country claims, with an optional country block-list (legacy Rule).
 *
 * The Rule version of actions/geoip-country-claims.js. Rules see GeoIP fields in snake_case
 * (`context.request.geoip.country_code`, `time_zone`), unlike Actions.
 *
 * Configuration (Rules settings, `configuration`):
 *   BLOCKED_COUNTRIES  optional, comma-separated country codes, e.g. "KP, IR"
 *
 * Claims: https://example.com/country (ID and access token), https://example.com/timezone (ID token)
 */
function addCountryClaims(user, context, callback) {
  const namespace = 'https://example.com/';
  const geoip = (context.request && context.request.geoip) || {};
  const country = geoip.country_code ? String(geoip.country_code).toUpperCase() : null;

  const blocked = String(configuration.BLOCKED_COUNTRIES || '')
    .split(',')
    .map(function (c) {
      return c.trim().toUpperCase();
    })
    .filter(Boolean);
  if (country && blocked.indexOf(country) !== -1) {
    return callback(new UnauthorizedError('Access from your country is not allowed.'));
  }

  if (country) {
    context.idToken[namespace + 'country'] = country;
    context.accessToken[namespace + 'country'] = country;
  }
  if (geoip.time_zone) {
    context.idToken[namespace + 'timezone'] = geoip.time_zone;
  }
  return callback(null, user, context);
}
