/**
 * IP allow-list (post-login Action).
 *
 * Lets users log in only from the listed IPv4 networks (office ranges, VPN egress addresses).
 * Every other address is denied, IPv6 addresses included (list their IPv4-mapped form,
 * `::ffff:a.b.c.d`, which is matched as a.b.c.d).
 *
 * Configuration (Action secrets):
 *   ALLOWED_CIDRS  comma-separated IPv4 CIDR blocks or single addresses,
 *                  e.g. "10.0.0.0/8, 192.168.1.0/24, 203.0.113.7"
 * Malformed entries are ignored (with a warning in the logs); an empty list denies everyone.
 */

/** "a.b.c.d" as an unsigned 32-bit number, or null when it is not a dotted IPv4 address. */
function parseIPv4(text) {
  const parts = String(text).trim().split('.');
  if (parts.length !== 4) return null;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return null;
    const n = Number(part);
    if (n > 255) return null;
    value = value * 256 + n;
  }
  return value;
}

/** "a.b.c.d/len" (or a bare address, /32) as {network, mask}, or null. */
function parseCidr(text) {
  const [addr, len, extra] = String(text).trim().split('/');
  if (extra !== undefined) return null;
  const ip = parseIPv4(addr);
  const bits = len === undefined ? 32 : /^\d{1,2}$/.test(len) ? Number(len) : NaN;
  if (ip === null || !(bits >= 0 && bits <= 32)) return null;
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return { network: (ip & mask) >>> 0, mask };
}

exports.onExecutePostLogin = async (event, api) => {
  const secrets = event.secrets || {};
  const ranges = [];
  for (const entry of String(secrets.ALLOWED_CIDRS || '').split(',')) {
    if (!entry.trim()) continue;
    const range = parseCidr(entry);
    if (range) ranges.push(range);
    else console.warn(`ignoring malformed ALLOWED_CIDRS entry "${entry.trim()}"`);
  }

  let ip = String((event.request && event.request.ip) || '');
  if (ip.toLowerCase().startsWith('::ffff:')) ip = ip.slice(7);
  const address = parseIPv4(ip);

  const allowed = address !== null && ranges.some((r) => ((address & r.mask) >>> 0) === r.network);
  if (!allowed) {
    api.access.deny(`Access from ${ip || 'an unknown address'} is not allowed.`);
  }
};
