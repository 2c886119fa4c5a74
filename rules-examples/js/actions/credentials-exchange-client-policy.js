/**
 * Machine-to-machine token policy (credentials-exchange Action).
 *
 * Runs when an application exchanges its client credentials for an access token
 * (client_credentials grant). Blocked clients are refused; every other client gets claims
 * naming it and its service tier (from the application's metadata, `tier`), so the API can
 * rate-limit and audit per client.
 *
 * Configuration (Action secrets):
 *   BLOCKED_CLIENT_IDS  comma-separated client ids that may no longer get tokens
 *
 * Claims: https://example.com/client_name, https://example.com/tier ("standard" by default)
 */
const NAMESPACE = 'https://example.com';

exports.onExecuteCredentialsExchange = async (event, api) => {
  const blocked = String((event.secrets && event.secrets.BLOCKED_CLIENT_IDS) || '')
    .split(',')
    .map((c) => c.trim())
    .filter(Boolean);
  if (blocked.includes(event.client.client_id)) {
    api.access.deny('invalid_request', `The client ${event.client.client_id} is blocked.`);
    return;
  }

  const metadata = event.client.metadata || {};
  api.accessToken.setCustomClaim(`${NAMESPACE}/client_name`, event.client.name);
  api.accessToken.setCustomClaim(`${NAMESPACE}/tier`, metadata.tier || 'standard');
};
