/**
 * Weekday-only access for one application (post-login Action).
 *
 * The configured application (e.g. an internal payroll tool) can only be used Monday to Friday
 * (UTC). Logins to any other application are not affected.
 *
 * Configuration (Action secrets):
 *   CLIENT_ID  the client_id of the restricted application
 *
 * The day comes from the clock (`new Date()`); to test a given day, fix the sandbox's clock,
 * e.g. `rulebox run ... --now 2026-11-28T10:00:00Z` (a Saturday).
 */
exports.onExecutePostLogin = async (event, api) => {
  const restricted = event.secrets && event.secrets.CLIENT_ID;
  if (!restricted || event.client.client_id !== restricted) return;

  const day = new Date().getUTCDay(); // 0 = Sunday ... 6 = Saturday
  if (day === 0 || day === 6) {
    api.access.deny(`${event.client.name || 'This application'} is only available on weekdays.`);
  }
};
