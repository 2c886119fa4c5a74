// Baseline for `rulebox bench --js`: the same Action source run the way a
// Node.js-based sandbox isolates tenants — a fresh `vm` context per call, the
// source evaluated in it, the handler awaited. Prints one JSON line.
//
// usage: node bench/node-vm.js <action.js> <event.json> <iterations>
'use strict';
const fs = require('fs');
const vm = require('vm');

const [source, eventJson, iterations] = [
  fs.readFileSync(process.argv[2], 'utf8'),
  fs.readFileSync(process.argv[3], 'utf8'),
  Number(process.argv[4] || 2000),
];
const script = new vm.Script(`(function (exports, module) {\n${source}\n})`, { filename: 'action.js' });

function makeApi(commands) {
  const push = (op) => (...args) => { commands.push([op, ...args]); };
  return {
    access: { deny: push('deny') },
    idToken: { setCustomClaim: push('set_id_token_claim') },
    accessToken: { setCustomClaim: push('set_access_token_claim'), addScope: push('add_scope'), removeScope: push('remove_scope') },
    user: { setAppMetadata: push('set_app_metadata'), setUserMetadata: push('set_user_metadata') },
    multifactor: { enable: push('enable_mfa') },
    redirect: { sendUserTo: push('redirect') },
    cache: { get: () => undefined, set: push('cache_set'), delete: push('cache_delete') },
  };
}

async function once() {
  // Fresh context per call: nothing of one tenant's call survives into the next.
  const context = vm.createContext({ console: { log() {}, info() {}, warn() {}, error() {} }, setTimeout, clearTimeout });
  const module = { exports: {} };
  script.runInContext(context)(module.exports, module);
  const commands = [];
  await module.exports.onExecutePostLogin(JSON.parse(eventJson), makeApi(commands));
  return JSON.stringify({ commands });
}

(async () => {
  const warm = Math.min(200, iterations);
  for (let i = 0; i < warm; i++) await once();
  const times = [];
  for (let i = 0; i < iterations; i++) {
    const t = process.hrtime.bigint();
    await once();
    times.push(Number(process.hrtime.bigint() - t) / 1000);
  }
  times.sort((a, b) => a - b);
  const at = (p) => times[Math.min(times.length - 1, Math.round((times.length - 1) * p))];
  console.log(JSON.stringify({ node: process.version, iterations, p50_us: at(0.5), p99_us: at(0.99) }));
})();
