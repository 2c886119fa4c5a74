/**
 * IP allow-list, with the parsed list cached in `global` (legacy Rule).
 *
 * The Rule version of actions/ip-allowlist.js: users may log in only from the listed IPv4
 * networks. Parsing the list once and keeping it in `global` is the classic Rules idiom for
 * expensive set-up: `global` may survive between executions, or vanish at any time, so the
 * cache is keyed by the configuration string and rebuilt whenever it is missing or stale.
 *
 * Configuration (Rules settings, `configuration`):
 *   ALLOWED_CIDRS  comma-separated IPv4 CIDR blocks or single addresses,
 *                  e.g. "10.0.0.0/8, 192.168.1.0/24, 203.0.113.7"
 */
function ipAllowList(user, context, callback) {
  function parseIPv4(text) {
    const parts = String(text).trim().split('.');
    if (parts.length !== 4) return null;
    let value = 0;
    for (let i = 0; i < 4; i++) {
      if (!/^\d{1,3}$/.test(parts[i]) || Number(parts[i]) > 255) return null;
      value = value * 256 + Number(parts[i]);
    }
    return value;
  }

  function parseCidrs(list) {
    const ranges = [];
    list.split(',').forEach(function (entry) {
      if (!entry.trim()) return;
      const pieces = entry.trim().split('/');
      const ip = parseIPv4(pieces[0]);
      const bits = pieces.length === 1 ? 32 : /^\d{1,2}$/.test(pieces[1]) ? Number(pieces[1]) : NaN;
      if (pieces.length > 2 || ip === null || !(bits >= 0 && bits <= 32)) {
        console.warn('ignoring malformed ALLOWED_CIDRS entry "' + entry.trim() + '"');
        return;
      }
      const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
      ranges.push({ network: (ip & mask) >>> 0, mask: mask });
    });
    return ranges;
  }

  const raw = String(configuration.ALLOWED_CIDRS || '');
  if (!global.ipAllowList || global.ipAllowList.raw !== raw) {
    global.ipAllowList = { raw: raw, ranges: parseCidrs(raw) };
  }

  let ip = String((context.request && context.request.ip) || '');
  if (ip.toLowerCase().indexOf('::ffff:') === 0) ip = ip.slice(7);
  const address = parseIPv4(ip);
  const allowed =
    address !== null &&
    global.ipAllowList.ranges.some(function (r) {
      return ((address & r.mask) >>> 0) === r.network;
    });

  if (!allowed) {
    return callback(new UnauthorizedError('Access from ' + (ip || 'an unknown address') + ' is not allowed.'));
  }
  return callback(null, user, context);
}
