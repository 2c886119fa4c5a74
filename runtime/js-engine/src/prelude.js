// The JavaScript side of the rulebox engine guest: Auth0's globals and `api`
// objects over the ABI's command list. Evaluated once, before the tenant's
// source, and snapshotted with it; every call starts from that snapshot, so
// nothing here (or in tenant code) survives from one call to the next.
(function () {
  'use strict';
  const g = globalThis;
  const nativeLog = g.__rb_native_log;
  delete g.__rb_native_log;
  const nativeHttp = g.__rb_native_http;
  delete g.__rb_native_http;
  const nativeStepEnd = g.__rb_native_step_end;
  delete g.__rb_native_step_end;

  // Handler return codes, docs/abi.md.
  const CODE = { OK: 0, FAILED: 1, NEVER_SETTLES: 2, VIOLATION: 3, STACK: 4, MEMORY: 5 };

  // ---------------------------------------------------------------- console
  function show(v) {
    if (typeof v === 'string') return v;
    if (v instanceof Error) return v.stack ? `${v.name}: ${v.message}\n${v.stack}` : `${v.name}: ${v.message}`;
    if (typeof v === 'function') return `[Function ${v.name || 'anonymous'}]`;
    if (v === undefined) return 'undefined';
    try {
      const s = JSON.stringify(v);
      return s === undefined ? String(v) : s;
    } catch (e) {
      return String(v);
    }
  }
  const line = (args) => args.map(show).join(' ');
  g.console = {
    log: (...a) => nativeLog(1, line(a)),
    info: (...a) => nativeLog(1, line(a)),
    debug: (...a) => nativeLog(0, line(a)),
    warn: (...a) => nativeLog(2, line(a)),
    error: (...a) => nativeLog(3, line(a)),
  };

  // ------------------------------------------------------------ Math.random
  // xoshiro128** reseeded by the host at the start of every call: QuickJS's
  // own generator state would be frozen in the snapshot, so every call would
  // draw the same numbers. 53 bits per number, like V8.
  const rs = new Uint32Array([1, 2, 3, 4]);
  const rotl = (x, k) => (x << k) | (x >>> (32 - k));
  function next32() {
    const result = Math.imul(rotl(Math.imul(rs[1], 5), 7), 9) >>> 0;
    const t = rs[1] << 9;
    rs[2] ^= rs[0];
    rs[3] ^= rs[1];
    rs[1] ^= rs[2];
    rs[0] ^= rs[3];
    rs[2] ^= t;
    rs[3] = rotl(rs[3], 11);
    return result;
  }
  g.__rb_reseed = (a, b, c, d) => {
    rs[0] = a; rs[1] = b; rs[2] = c; rs[3] = d;
    if ((a | b | c | d) === 0) rs[0] = 1;
  };
  Object.defineProperty(Math, 'random', {
    value: function random() {
      return ((next32() >>> 5) * 67108864 + (next32() >>> 6)) / 9007199254740992;
    },
    writable: true, configurable: true,
  });

  // ------------------------------------------------------------ fetch
  // WHATWG-shaped `fetch` over the host's outbound-HTTP capability. The host
  // checks every request against the tenant's allow-list (a refusal ends the
  // call with `capability_denied`); network failures reject like fetch does.
  function makeHeaders(obj) {
    const map = {};
    for (const k of Object.keys(obj || {})) map[k.toLowerCase()] = String(obj[k]);
    return {
      get: (name) => (map[String(name).toLowerCase()] !== undefined ? map[String(name).toLowerCase()] : null),
      has: (name) => map[String(name).toLowerCase()] !== undefined,
      forEach: (fn) => Object.keys(map).forEach((k) => fn(map[k], k)),
      entries: () => Object.keys(map).map((k) => [k, map[k]])[Symbol.iterator](),
    };
  }
  function plainHeaders(h) {
    const out = {};
    if (!h) return out;
    if (typeof h.forEach === 'function' && !Array.isArray(h)) {
      h.forEach((v, k) => { out[k] = String(v); });
      return out;
    }
    for (const [k, v] of Array.isArray(h) ? h : Object.entries(h)) out[k] = String(v);
    return out;
  }
  g.fetch = function fetch(input, init) {
    return new Promise((resolve, reject) => {
      const opts = init || {};
      const url = typeof input === 'string' ? input : (input && input.url) || String(input);
      let body = opts.body;
      if (body !== undefined && body !== null && typeof body !== 'string') body = String(body);
      const answer = JSON.parse(nativeHttp(JSON.stringify({
        method: String(opts.method || 'GET'), url, headers: plainHeaders(opts.headers),
        body: body === undefined ? null : body,
      })));
      if (answer.error !== undefined) {
        reject(new TypeError(`fetch failed: ${answer.error}`));
        return;
      }
      const text = answer.body;
      resolve({
        status: answer.status,
        ok: answer.status >= 200 && answer.status < 300,
        statusText: '',
        url: answer.url,
        redirected: answer.url !== url,
        headers: makeHeaders(answer.headers),
        text: () => Promise.resolve(text),
        json: () => new Promise((res) => res(JSON.parse(text))),
      });
    });
  };

  // ------------------------------------------------- timers (virtual time)
  // A call has no real waiting to do: timers fire in due order as soon as
  // the job queue is empty, and virtual time jumps to their due time.
  let clock = 0;
  let timerSeq = 0;
  let timers = [];
  function addTimer(fn, ms, args, every) {
    if (typeof fn !== 'function') throw new TypeError('callback must be a function');
    const id = ++timerSeq;
    const delay = Math.max(0, Number(ms) || 0);
    timers.push({ id, at: clock + delay, fn, args, every: every ? Math.max(1, delay) : 0 });
    return id;
  }
  g.setTimeout = (fn, ms, ...args) => addTimer(fn, ms, args, false);
  g.setInterval = (fn, ms, ...args) => addTimer(fn, ms, args, true);
  g.setImmediate = (fn, ...args) => addTimer(fn, 0, args, false);
  g.clearTimeout = g.clearInterval = g.clearImmediate = (id) => {
    timers = timers.filter((t) => t.id !== id);
  };
  g.__rb_next_timer = function () {
    if (timers.length === 0) return false;
    timers.sort((a, b) => a.at - b.at || a.id - b.id);
    const t = timers.shift();
    clock = t.at;
    if (t.every) timers.push({ ...t, at: clock + t.every });
    t.fn(...t.args);
    return true;
  };

  // ----------------------------------------------------- Auth0's errors
  class UnauthorizedError extends Error {
    constructor(message) {
      super(message);
      this.name = 'UnauthorizedError';
    }
  }
  class WrongUsernameOrPasswordError extends Error {
    constructor(emailOrNull, message) {
      super(message || 'Wrong email or password.');
      this.name = 'WrongUsernameOrPasswordError';
      this.email = emailOrNull == null ? null : emailOrNull;
    }
  }
  class ValidationError extends Error {
    constructor(code, message) {
      super(message);
      this.name = 'ValidationError';
      this.code = code;
    }
  }
  g.UnauthorizedError = UnauthorizedError;
  g.WrongUsernameOrPasswordError = WrongUsernameOrPasswordError;
  g.ValidationError = ValidationError;
  g.global = g;

  // `require` over the packages installed with the code (modules.js); code
  // saved without dependencies can still require Node's core modules by name.
  const makeRequire = g.__rb_modules;
  delete g.__rb_modules;
  let require = makeRequire({}, null);
  g.require = require;

  /** Tenant-caused protocol errors (e.g. a callback called twice). */
  class ProtocolViolation extends Error {}

  // ----------------------------------------------------------- commands
  const json = (v) => (v === undefined ? null : JSON.parse(JSON.stringify(v)));
  const str = (v) => String(v);

  // The api objects are class instances: their methods live once on the
  // prototypes in the snapshot, so a call allocates a handful of small
  // objects instead of re-creating dozens of closures.
  class CacheApi {
    constructor(rec, input) {
      this.rec = rec;
      this.entries = Object.assign({}, (input && input.__rb_cache) || {});
    }
    get(key) {
      const e = this.entries[str(key)];
      return e === undefined ? undefined : { value: e.value, expires_at: e.expires_at };
    }
    set(key, value, options) {
      const o = options || {};
      const cmd = { op: 'cache_set', key: str(key), value: str(value) };
      // Milliseconds since the epoch exceed 32 bits: no `| 0` truncation here.
      const ms = (v) => Math.max(0, Math.floor(Number(v)) || 0);
      if (o.ttl !== undefined) cmd.ttl_ms = ms(o.ttl);
      if (o.expires_at !== undefined) cmd.expires_at = ms(o.expires_at);
      this.entries[cmd.key] = { value: cmd.value, expires_at: cmd.expires_at };
      this.rec.commands.push(cmd);
      return { type: 'success' };
    }
    delete(key) {
      delete this.entries[str(key)];
      this.rec.commands.push({ op: 'cache_delete', key: str(key) });
      return { type: 'success' };
    }
  }
  class Part {
    constructor(rec) {
      this.rec = rec;
    }
    push(cmd) {
      this.rec.commands.push(cmd);
      return this;
    }
  }
  class AccessApi extends Part {
    deny(reason) {
      return this.push({ op: 'deny', reason: str(reason) });
    }
  }
  class ExchangeAccessApi extends Part {
    // Auth0 answers the token request with `code` as the OAuth `error`.
    deny(code, reason) {
      if (reason === undefined) return this.push({ op: 'deny', reason: str(code) });
      return this.push({ op: 'deny', reason: str(reason), code: str(code) });
    }
  }
  class RegistrationAccessApi extends Part {
    deny(reason, userMessage) {
      return this.push({ op: 'deny', reason: str(userMessage === undefined ? reason : userMessage) });
    }
  }
  class IdTokenApi extends Part {
    setCustomClaim(name, value) {
      return this.push({ op: 'set_id_token_claim', name: str(name), value: json(value) });
    }
  }
  class AccessTokenApi extends Part {
    setCustomClaim(name, value) {
      return this.push({ op: 'set_access_token_claim', name: str(name), value: json(value) });
    }
    addScope(scope) {
      return this.push({ op: 'add_scope', scope: str(scope) });
    }
    removeScope(scope) {
      return this.push({ op: 'remove_scope', scope: str(scope) });
    }
  }
  class ClaimsOnlyAccessTokenApi extends Part {
    setCustomClaim(name, value) {
      return this.push({ op: 'set_access_token_claim', name: str(name), value: json(value) });
    }
  }
  class UserApi extends Part {
    setAppMetadata(name, value) {
      return this.push({ op: 'set_app_metadata', name: str(name), value: json(value) });
    }
    setUserMetadata(name, value) {
      return this.push({ op: 'set_user_metadata', name: str(name), value: json(value) });
    }
  }
  class MultifactorApi extends Part {
    enable(provider, options) {
      const cmd = { op: 'enable_mfa', provider: str(provider || 'any') };
      if (options !== undefined) cmd.options = json(options);
      return this.push(cmd);
    }
  }
  class RedirectApi extends Part {
    sendUserTo(url, options) {
      const cmd = { op: 'redirect', url: str(url) };
      if (options && options.query !== undefined) cmd.query = json(options.query);
      return this.push(cmd);
    }
  }
  class TransactionApi extends Part {
    setMetadata(name, value) {
      return this.push({ op: 'set_transaction_metadata', name: str(name), value: json(value) });
    }
  }

  function actionApi(trigger, rec, event) {
    const api = { cache: new CacheApi(rec, event) };
    if (trigger === 'post-login' || trigger === 'continue-post-login') {
      api.access = new AccessApi(rec);
      api.idToken = new IdTokenApi(rec);
      api.accessToken = new AccessTokenApi(rec);
      api.user = new UserApi(rec);
      api.multifactor = new MultifactorApi(rec);
      api.redirect = new RedirectApi(rec);
      api.transaction = new TransactionApi(rec);
    } else if (trigger === 'credentials-exchange') {
      api.access = new ExchangeAccessApi(rec);
      api.accessToken = new ClaimsOnlyAccessTokenApi(rec);
    } else if (trigger === 'pre-user-registration') {
      api.access = new RegistrationAccessApi(rec);
      api.user = new UserApi(rec);
    }
    return api;
  }

  // ------------------------------------------------------------ loading
  // Trigger id -> the Action's export, from rulebox_abi's declaration (set by lib.rs).
  const HANDLERS = JSON.parse(g.__rb_handlers);
  delete g.__rb_handlers;
  const SCRIPTS = ['login', 'getUser', 'create', 'verify', 'changePassword', 'delete', 'changeEmail'];
  let loaded = null;

  function location(e, lineShift) {
    let lineNo = e.lineNumber;
    let col = e.columnNumber;
    if (lineNo === undefined && typeof e.stack === 'string') {
      const m = /:(\d+):(\d+)/.exec(e.stack);
      if (m) {
        lineNo = Number(m[1]);
        col = Number(m[2]);
      }
    }
    return { line: lineNo === undefined ? null : lineNo - lineShift, column: col === undefined ? null : col };
  }

  function compile(source) {
    // The wrapper shares the source's first line so reported lines match the
    // tenant's file; the leading newline keeps the first line's columns too.
    return (0, eval)('(function (exports, module, require) {\n' + source + '\n})');
  }

  function loadError(message, where) {
    return JSON.stringify({ commands: [], result: { error: Object.assign({ message }, where || {}) } });
  }

  // Kept alive in the snapshot on purpose: parsing a representative event
  // once at deploy time leaves its property names interned as atoms and its
  // object shapes in QuickJS's shape table, so each call's JSON.parse of the
  // real event finds them instead of creating them.
  let warm = null;
  function warmUp(sample) {
    try {
      const event = JSON.parse(sample);
      const rec = { commands: [] };
      warm = { event, apis: Object.keys(HANDLERS).map((t) => actionApi(t, rec, event)) };
    } catch (e) {
      warm = null;
    }
  }

  const NO_HANDLER = 'the Action exports no handler (exports.onExecutePostLogin, ...)';
  const actionTriggers = (exports) => Object.keys(HANDLERS).filter((t) => typeof exports[HANDLERS[t]] === 'function');

  /**
   * The Actions of one flow, compiled in binding order into one heap. Each
   * keeps its own module scope (`exports`, `module`); they share the global
   * object, as Actions of one tenant share a Node.js process at Auth0.
   */
  function loadFlow(sources) {
    const actions = [];
    for (let i = 0; i < sources.length; i++) {
      const which = `Action ${i + 1} of the flow`;
      let fn;
      try {
        fn = compile(String(sources[i]));
      } catch (e) {
        const where = e instanceof SyntaxError ? location(e, 1) : undefined;
        return loadError(`${which}: ${e && e.name}: ${e && e.message}`, where);
      }
      const module = { exports: {} };
      try {
        fn.call(module.exports, module.exports, module, require);
      } catch (e) {
        return loadError(`${which}: ${e && e.name}: ${e && e.message}`, location(e, 1));
      }
      const triggers = actionTriggers(module.exports);
      if (triggers.length === 0) return loadError(`${which}: ${NO_HANDLER}`);
      actions.push({ exports: module.exports, triggers });
    }
    const triggers = [...new Set(actions.flatMap((a) => a.triggers))];
    loaded = { kind: 'flow', actions, triggers };
    return JSON.stringify({ commands: [], result: { ok: true, kind: 'flow', triggers } });
  }

  g.__rb_load = function (inputJson, sampleEvent) {
    warmUp(sampleEvent);
    const input = JSON.parse(inputJson);
    if (input.modules && typeof input.modules === 'object') {
      require = makeRequire(input.modules, null);
      g.require = require;
    }
    const kind = input.kind;
    const source = String(input.source || '');
    if (kind === 'flow') return loadFlow(JSON.parse(source));
    let fn;
    try {
      if (kind === 'action') {
        fn = compile(source);
      } else {
        // Rules and custom-DB scripts are one function expression each.
        fn = compile('return (' + source + '\n);');
      }
    } catch (e) {
      if (e instanceof SyntaxError) return loadError(`SyntaxError: ${e.message}`, location(e, 1));
      return loadError(`${e.name}: ${e.message}`);
    }
    const module = { exports: {} };
    try {
      const value = fn.call(module.exports, module.exports, module, require);
      if (kind === 'action') {
        const exported = actionTriggers(module.exports);
        if (exported.length === 0) return loadError(NO_HANDLER);
        loaded = { kind, exports: module.exports, triggers: exported };
      } else if (kind === 'rule' || kind === 'custom-db') {
        if (typeof value !== 'function') {
          return loadError(`a ${kind === 'rule' ? 'rule' : 'custom database script'} must be one function expression`);
        }
        const script = input.script;
        if (kind === 'custom-db' && !SCRIPTS.includes(script)) {
          return loadError(`unknown custom database script '${script}' (one of ${SCRIPTS.join(', ')})`);
        }
        loaded = { kind, fn: value, script, triggers: kind === 'rule' ? ['post-login'] : ['custom-db'] };
      } else {
        return loadError(`unknown source kind '${kind}'`);
      }
    } catch (e) {
      return loadError(`${e && e.name}: ${e && e.message}`, location(e, 1));
    }
    return JSON.stringify({ commands: [], result: { ok: true, kind, triggers: loaded.triggers } });
  };

  // ------------------------------------------------------------ calling
  let violation = null;

  function ruleCommands(before, context, rec) {
    const claims = (op, now, was) => {
      for (const k of Object.keys(now || {})) {
        const v = now[k];
        if (!was || JSON.stringify(was[k]) !== JSON.stringify(v)) rec.commands.push({ op, name: k, value: json(v) });
      }
    };
    claims('set_id_token_claim', context.idToken, before.idToken);
    claims('set_access_token_claim', context.accessToken, before.accessToken);
    const mf = context.multifactor;
    if (mf && (!before.multifactor || JSON.stringify(before.multifactor) !== JSON.stringify(mf))) {
      const { provider, ...options } = mf;
      rec.commands.push({ op: 'enable_mfa', provider: str(provider || 'any'), options: json(options) });
    }
    const rd = context.redirect;
    if (rd && rd.url && (!before.redirect || before.redirect.url !== rd.url)) {
      rec.commands.push({ op: 'redirect', url: str(rd.url) });
    }
  }

  function errorInfo(err) {
    if (err instanceof Error) {
      const info = { type: err.name || 'Error', message: String(err.message) };
      if (err.code !== undefined) info.code = err.code;
      if (err.email !== undefined) info.email = err.email;
      return info;
    }
    return { type: 'Error', message: String(err) };
  }

  /** A callback that settles `resolve` once and records any second call. */
  function onceCallback(resolve) {
    let calls = 0;
    return function callback(...args) {
      calls += 1;
      if (calls > 1) {
        violation = 'callback was called more than once';
        return;
      }
      resolve(args);
    };
  }

  // Legacy rules' `global`: a best-effort cache that survives between calls on
  // one node. The host passes back what the last call left (`__rb_global`);
  // whatever JSON-serialisable values a call adds to the global object are
  // handed back to the host in `result.global`.
  function restoreGlobal(input) {
    const baseline = new Set(Object.keys(g));
    const saved = input.__rb_global;
    if (saved && typeof saved === 'object') {
      for (const k of Object.keys(saved)) if (!baseline.has(k)) g[k] = saved[k];
    }
    return baseline;
  }
  function keptGlobal(baseline) {
    const out = {};
    for (const k of Object.keys(g)) {
      if (baseline.has(k)) continue;
      try {
        const text = JSON.stringify(g[k]);
        if (text !== undefined) out[k] = JSON.parse(text);
      } catch (e) {
        // Functions, cycles, BigInts: not kept (the cache is best effort).
      }
    }
    return out;
  }

  /** `result` with `global` added when the call left anything in it. */
  function withGlobal(result, baseline) {
    const kept = keptGlobal(baseline);
    if (Object.keys(kept).length > 0) result.global = kept;
    return result;
  }

  function callRule(input, rec) {
    g.configuration = Object.freeze(Object.assign({}, input.configuration || {}));
    const baseline = restoreGlobal(input);
    const user = input.user || {};
    const context = input.context || {};
    // Auth0 always hands rules these two, for namespaced claims.
    if (!context.idToken || typeof context.idToken !== 'object') context.idToken = {};
    if (!context.accessToken || typeof context.accessToken !== 'object') context.accessToken = {};
    const before = json(context) || {};
    return new Promise((resolve) => loaded.fn.call(null, user, context, onceCallback(resolve))).then(
      ([err, u, ctx]) => {
        if (err) {
          rec.commands.push({ op: 'deny', reason: str(err instanceof Error ? err.message : err) });
          rec.result = withGlobal({ error: errorInfo(err), user: json(user), context: json(context) }, baseline);
          return;
        }
        const finalContext = ctx || context;
        ruleCommands(before, finalContext, rec);
        rec.result = withGlobal({ user: json(u || user), context: json(finalContext) }, baseline);
      },
    );
  }

  function callScript(input, rec) {
    g.configuration = Object.freeze(Object.assign({}, input.configuration || {}));
    const args = Array.isArray(input.args) ? input.args : [];
    const script = loaded.script;
    const arity = { login: 2, getUser: 1, create: 1, verify: 1, changePassword: 2, delete: 1, changeEmail: 3 }[script];
    const callArgs = args.slice(0, arity);
    while (callArgs.length < arity) callArgs.push(undefined);
    return new Promise((resolve) => loaded.fn.call(null, ...callArgs, onceCallback(resolve))).then(([err, value]) => {
      if (err) {
        rec.result = { error: errorInfo(err) };
      } else if (script === 'login' || script === 'getUser') {
        rec.result = { profile: value === undefined ? null : json(value) };
      } else {
        rec.result = { value: value === undefined ? null : json(value) };
      }
    });
  }

  // One call's record; the snapshot starts every call with none.
  let current = null;

  /**
   * A flow call: `{event, steps: [{index, entry, secrets}]}`. The Actions run
   * in order on one event, each step ended with `step_end` so the host files
   * its commands, logs and fuel separately. As at Auth0, later Actions see
   * the metadata earlier ones set and the cache entries they wrote, and the
   * flow stops after an Action that denied (or redirected, outside a resume).
   */
  async function runFlow(input) {
    const event = (input && input.event) || {};
    const steps = Array.isArray(input && input.steps) ? input.steps : [];
    // One record and one api object per handler kind serve every step: each
    // step gets a fresh command list, so building the api objects is paid
    // once per flow rather than once per Action.
    const rec = { commands: [], result: undefined };
    const cache = new CacheApi(rec, event);
    const apis = {};
    let redirected = false;
    for (const step of steps) {
      const action = loaded.actions[step.index];
      if (!action) throw new ProtocolViolation(`the flow has no Action at position ${step.index}`);
      const entry = step.entry;
      if (!action.triggers.includes(entry)) {
        throw new ProtocolViolation(`this action has no handler for '${entry}'`);
      }
      event.secrets = step.secrets || {};
      rec.commands = [];
      current = rec;
      let api = apis[entry];
      if (api === undefined) {
        api = actionApi(entry, rec, null);
        api.cache = cache;
        apis[entry] = api;
      }
      await action.exports[HANDLERS[entry]](event, api);
      nativeStepEnd(JSON.stringify({ commands: rec.commands }));
      let go = true;
      for (const c of rec.commands) {
        if (c.op === 'set_app_metadata' || c.op === 'set_user_metadata') {
          const field = c.op === 'set_app_metadata' ? 'app_metadata' : 'user_metadata';
          if (!event.user || typeof event.user !== 'object') event.user = {};
          if (!event.user[field] || typeof event.user[field] !== 'object') event.user[field] = {};
          event.user[field][c.name] = c.value;
        } else if (c.op === 'deny') {
          go = false;
        } else if (c.op === 'redirect') {
          redirected = true;
        }
      }
      if (!go || (redirected && entry !== 'continue-post-login')) break;
    }
    // What runs after the last step (nothing) reports no commands of its own.
    current = { commands: [], result: undefined };
  }

  /**
   * Starts the handler. Returns its value: a promise (async handlers, rules,
   * scripts) that the engine drives with the job queue and timers, or a plain
   * value. Throws what the handler throws.
   */
  g.__rb_dispatch = function (entry, input) {
    if (!loaded) throw new ProtocolViolation('no script is loaded');
    if (loaded.kind === 'flow') return runFlow(input);
    if (!loaded.triggers.includes(entry)) {
      throw new ProtocolViolation(`this ${loaded.kind} has no handler for '${entry}'`);
    }
    current = { commands: [], result: undefined };
    if (loaded.kind === 'action') {
      return loaded.exports[HANDLERS[entry]](input, actionApi(entry, current, input));
    }
    return loaded.kind === 'rule' ? callRule(input, current) : callScript(input, current);
  };

  /** Why a handler failed: {code, message}. */
  g.__rb_failure = function (e) {
    if (e instanceof ProtocolViolation) return { code: CODE.VIOLATION, message: e.message };
    const name = e && e.name;
    const message = e && e.message !== undefined ? String(e.message) : String(e);
    if ((name === 'InternalError' || name === 'RangeError') && /stack/i.test(message)) {
      return { code: CODE.STACK, message: `${name}: ${message}` };
    }
    // "string too long": QuickJS's cap on one string's size, reached by the
    // same unbounded growth that would otherwise exhaust memory.
    if (name === 'InternalError' && /out of memory|string too long/i.test(message)) {
      return { code: CODE.MEMORY, message: `${name}: ${message}` };
    }
    return { code: CODE.FAILED, message: e instanceof Error ? `${name}: ${message}` : `Uncaught ${show(e)}` };
  };

  /** The output of a handler that settled: '' and a logged reason if the tenant broke a protocol. */
  g.__rb_output = function () {
    if (violation) {
      nativeLog(3, violation);
      return '';
    }
    const out = { commands: current.commands };
    if (current.result !== undefined) out.result = current.result;
    return JSON.stringify(out);
  };
})();
