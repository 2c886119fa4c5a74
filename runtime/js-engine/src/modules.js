// CommonJS `require` over the npm packages installed when the code was saved.
// Evaluated before the prelude, which takes `__rb_modules` off the global
// object and calls it once per load with the installed files (path from the
// code's root, e.g. `node_modules/lodash/lodash.js`, to text).
//
// Resolution follows Node's: core module names first (`node:` prefix or
// not), then relative paths (with `.js`, `.json`, `.cjs` and directory
// `index` files), then packages by walking up `node_modules` directories. A
// package's `exports` is honoured with the conditions `worker`, `browser`,
// `require`, `default` in that order of preference (what makes axios 1.x and
// node-fetch use `fetch` instead of Node's `http`), else its `browser` field
// (a string replaces `main`, an object replaces files or turns them off),
// else `main`. A module's top-level code runs once, when it is first
// required: at snapshot time for a top-level `require`, so what it reads then
// (a random number, the clock) is frozen into every call.
(function () {
  'use strict';
  const g = globalThis;

  // Node's core modules. Those that reach the network or the disk
  // themselves can never work in the sandbox; the rest are not there yet.
  const NO_SANDBOX = ['http', 'https', 'http2', 'net', 'tls', 'dgram', 'dns', 'zlib', 'fs', 'child_process', 'cluster', 'worker_threads', 'vm', 'inspector'];
  const CORE = new Set(NO_SANDBOX.concat(['assert', 'async_hooks', 'buffer', 'console', 'constants', 'crypto', 'diagnostics_channel', 'domain', 'events', 'module', 'os', 'path', 'perf_hooks', 'process', 'punycode', 'querystring', 'readline', 'repl', 'stream', 'string_decoder', 'sys', 'timers', 'tty', 'url', 'util', 'v8', 'wasi']));

  const own = (o, k) => Object.prototype.hasOwnProperty.call(o, k);

  function notFound(request, from, why) {
    const e = new Error(`Cannot find module '${request}'${from ? ` from '${from}'` : ''}${why ? `: ${why}` : ''}`);
    e.code = 'MODULE_NOT_FOUND';
    return e;
  }

  function normalize(path) {
    const out = [];
    for (const part of path.split('/')) {
      if (part === '' || part === '.') continue;
      if (part === '..') out.pop();
      else out.push(part);
    }
    return out.join('/');
  }
  const join = (dir, rel) => normalize(dir ? `${dir}/${rel}` : rel);
  const dirname = (path) => {
    const i = path.lastIndexOf('/');
    return i < 0 ? '' : path.slice(0, i);
  };

  /** The first target a conditional export names for the sandbox's conditions. */
  function conditional(target) {
    if (typeof target === 'string') return target;
    if (target === null) return null;
    if (Array.isArray(target)) {
      for (const t of target) {
        const hit = conditional(t);
        if (hit) return hit;
      }
      return null;
    }
    if (typeof target === 'object') {
      for (const c of ['worker', 'browser', 'require', 'default']) {
        if (own(target, c)) {
          const hit = conditional(target[c]);
          if (hit) return hit;
        }
      }
    }
    return null;
  }

  /** What a package's `exports` maps `subpath` (`.` or `./x`) to; `undefined` if nothing. */
  function exported(exportsField, subpath) {
    const isMap =
      exportsField && typeof exportsField === 'object' && !Array.isArray(exportsField) && Object.keys(exportsField).some((k) => k.startsWith('.'));
    if (!isMap) return subpath === '.' ? conditional(exportsField) : undefined;
    if (own(exportsField, subpath)) return conditional(exportsField[subpath]);
    for (const key of Object.keys(exportsField)) {
      const star = key.indexOf('*');
      if (star < 0) continue;
      const before = key.slice(0, star);
      const after = key.slice(star + 1);
      if (subpath.startsWith(before) && subpath.endsWith(after) && subpath.length >= before.length + after.length) {
        const target = conditional(exportsField[key]);
        if (target) return target.split('*').join(subpath.slice(before.length, subpath.length - after.length));
      }
    }
    return undefined;
  }

  g.__rb_modules = function (files, builtins) {
    const cache = Object.create(null);
    const manifests = Object.create(null);
    const has = (path) => own(files, path) || own(cache, path);

    function manifest(dir) {
      const path = join(dir, 'package.json');
      if (own(manifests, path)) return manifests[path];
      let m = null;
      if (own(files, path)) {
        try {
          m = JSON.parse(files[path]);
        } catch (e) {
          m = null;
        }
      } else if (own(cache, path)) {
        m = cache[path].exports; // required as a module already
      }
      manifests[path] = m;
      return m;
    }

    function asFile(path) {
      for (const ext of ['', '.js', '.json', '.cjs']) {
        if (path && has(path + ext)) return path + ext;
      }
      return null;
    }

    function asIndex(dir) {
      for (const name of ['index.js', 'index.json', 'index.cjs']) {
        const path = join(dir, name);
        if (has(path)) return path;
      }
      return null;
    }

    function asDirectory(dir) {
      const m = manifest(dir);
      const main = m && (typeof m.browser === 'string' ? m.browser : typeof m.main === 'string' ? m.main : null);
      if (main) {
        const hit = asFile(join(dir, main)) || asIndex(join(dir, main));
        if (hit) return hit;
      }
      return asIndex(dir);
    }

    /** The nearest package directory holding `path`. */
    function packageOf(path) {
      let dir = dirname(path);
      for (;;) {
        if (manifest(dir)) return dir;
        if (dir === '') return null;
        dir = dirname(dir);
      }
    }

    /** A package's `browser` object replacing (or, with `false`, removing) a file. */
    function browserReplaced(path) {
      const pkg = packageOf(path);
      const m = pkg === null ? null : manifest(pkg);
      if (!m || !m.browser || typeof m.browser !== 'object') return path;
      for (const key of Object.keys(m.browser)) {
        if (!key.startsWith('.')) continue;
        const from = join(pkg, key);
        if (from === path || asFile(from) === path) {
          const to = m.browser[key];
          if (to === false) return false;
          return asFile(join(pkg, to)) || path;
        }
      }
      return path;
    }

    function resolvePackage(request, fromDir) {
      const parts = request.split('/');
      const nameLength = request.startsWith('@') ? 2 : 1;
      let name = parts.slice(0, nameLength).join('/');
      // A Rule's `require('name@version')`: the version was resolved at save time.
      const at = name.lastIndexOf('@');
      if (at > 0) name = name.slice(0, at);
      const sub = parts.slice(nameLength).join('/');
      let dir = fromDir;
      for (;;) {
        if (!dir.endsWith('node_modules')) {
          const base = join(dir, `node_modules/${name}`);
          const m = manifest(base);
          if (m || asIndex(base)) {
            if (m && m.exports !== undefined) {
              const target = exported(m.exports, sub ? `./${sub}` : '.');
              const hit = target && asFile(join(base, target));
              if (!hit) throw notFound(request, fromDir, `its package.json "exports" has no "${sub ? `./${sub}` : '.'}" for require`);
              return hit;
            }
            const hit = sub ? asFile(join(base, sub)) || asDirectory(join(base, sub)) : asDirectory(base);
            if (hit) return browserReplaced(hit);
          }
          // The root's browser object may also map a bare name (`"ws": false`).
          if (m === null && dir === '' && own(files, `node_modules/${name}.js`)) return `node_modules/${name}.js`;
        }
        if (dir === '') return null;
        dir = dirname(dir);
      }
    }

    function load(path, request) {
      const cached = cache[path];
      if (cached) return cached.exports;
      const module = { id: path, filename: `/${path}`, loaded: false, exports: {}, children: [] };
      cache[path] = module;
      const text = files[path];
      // The text is in the module now; the heap (and the snapshot) keeps one copy.
      delete files[path];
      try {
        if (path.endsWith('.json')) {
          module.exports = JSON.parse(text);
        } else {
          const body = String(text).replace(/^#!.*/, '');
          const fn = (0, eval)(`(function (exports, require, module, __filename, __dirname) {${body}\n})`);
          fn.call(module.exports, module.exports, requireFrom(dirname(path)), module, `/${path}`, `/${dirname(path)}`);
        }
      } catch (e) {
        // As Node does: a module that threw is not cached, and its text is kept for a retry.
        delete cache[path];
        files[path] = text;
        throw e;
      }
      module.loaded = true;
      return module.exports;
    }

    function core(name, request) {
      if (NO_SANDBOX.includes(name)) {
        throw notFound(request, '', `Node's '${name}' module is not available in the rulebox sandbox: use fetch`);
      }
      const make = builtins && builtins[name];
      if (!make) throw notFound(request, '', `Node's '${name}' module is not available in the rulebox sandbox yet`);
      return make();
    }

    function requireFrom(fromDir) {
      const require = function require(request) {
        if (typeof request !== 'string' || request === '') throw new TypeError('require() takes a module name');
        const bare = request.startsWith('node:') ? request.slice(5) : request;
        if (request.startsWith('node:') || CORE.has(bare.split('/')[0])) return core(bare.split('/')[0], request);
        let path;
        if (request.startsWith('./') || request.startsWith('../') || request.startsWith('/') || request === '.' || request === '..') {
          const target = join(request.startsWith('/') ? '' : fromDir, request);
          path = asFile(target) || asDirectory(target);
          if (path) path = browserReplaced(path);
        } else {
          path = resolvePackage(request, fromDir);
        }
        if (path === false) return {};
        if (!path) throw notFound(request, fromDir ? `/${fromDir}` : '', 'it was not installed with the code (list it in the dependencies)');
        return load(path, request);
      };
      require.cache = cache;
      return require;
    }

    return requireFrom('');
  };
})();
