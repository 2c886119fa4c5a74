/**
 * GeoIP country claims, with an optional country block-list (post-login Action).
 *
 * Adds the country the login comes from (ISO 3166-1 alpha-2, from the request's GeoIP data) to
 * the ID token and the access token, and the user's time zone to the ID token, so applications
 * and APIs can localise or apply regional rules. Logins from blocked countries are denied.
 *
 * Actions see GeoIP fields in camelCase (`event.request.geoip.countryCode`), unlike Rules
 * (`context.request.geoip.country_code`).
 *
 * Configuration (Action secrets):
 *   BLOCKED_COUNTRIES  optional, comma-separated country codes, e.g. "KP, IR"
 *
 * Claims (namespaced, as Auth0 requires for custom claims):
 *   https://example.com/country   ID token and access token
 *   https://example.com/timezone  ID token
 */
const NAMESPACE = 'https://example.com';

exports.onExecutePostLogin = async (event, api) => {
  const geoip = (event.request && event.request.geoip) || {};
  const country = geoip.countryCode ? String(geoip.countryCode).toUpperCase() : null;

  const blocked = String((event.secrets && event.secrets.BLOCKED_COUNTRIES) || '')
    .split(',')
    .map((c) => c.trim().toUpperCase())
    .filter(Boolean);
  if (country && blocked.includes(country)) {
    api.access.deny('Access from your country is not allowed.');
    return;
  }

  if (country) {
    api.idToken.setCustomClaim(`${NAMESPACE}/country`, country);
    api.accessToken.setCustomClaim(`${NAMESPACE}/country`, country);
  }
  if (geoip.timeZone) {
    api.idToken.setCustomClaim(`${NAMESPACE}/timezone`, geoip.timeZone);
  }
};
