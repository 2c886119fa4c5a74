//! QuickJS inside the sandbox, speaking rulebox guest ABI v1.
//!
//! Life cycle: the host calls `wizer-initialize` once per deployed version
//! with `{"kind", "source", "script"?}` as input; the source is compiled and
//! the resulting heap is snapshotted (wasmtime-wizer), so every invocation
//! starts from a heap where the tenant's code is already loaded. Handler
//! exports then run one call each on a fresh instance of that snapshot.
//!
//! Almost all behaviour (Auth0's `event`/`api`, Rules' callback protocol,
//! custom-DB scripts, timers) lives in `prelude.js`; this file moves bytes
//! and drives the job queue.

use rquickjs::{Context, Ctx, Function, Object, Promise, Runtime, Value, promise::PromiseState};
use std::cell::RefCell;

#[link(wasm_import_module = "rulebox")]
unsafe extern "C" {
    fn input_len() -> i32;
    fn input_read(ptr: *mut u8, len: i32) -> i32;
    fn output_write(ptr: *const u8, len: i32) -> i32;
    fn log(level: i32, ptr: *const u8, len: i32);
    fn http_request(ptr: *const u8, len: i32) -> i32;
    fn http_response_read(ptr: *mut u8, len: i32) -> i32;
    fn step_end() -> i32;
}

#[link(wasm_import_module = "wasi_snapshot_preview1")]
unsafe extern "C" {
    #[link_name = "random_get"]
    fn wasi_random_get(buf: *mut u8, len: usize) -> u16;
}

/// Fresh seed words for `Math.random`, from the host's randomness (which a
/// replay can fix). Without this every call would replay the PRNG state
/// frozen in the snapshot.
fn random_seed() -> [u32; 4] {
    let mut bytes = [0u8; 16];
    // SAFETY: a live 16-byte buffer; WASI random_get fills it.
    unsafe {
        wasi_random_get(bytes.as_mut_ptr(), bytes.len());
    }
    let word = |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    [word(0), word(4), word(8), word(12)]
}

/// One outbound request through the host capability: JSON in, JSON out.
fn host_http(request: &str) -> String {
    // SAFETY: pointer and length describe a live slice; the answer buffer is
    // sized from the length the host reported.
    unsafe {
        let n = http_request(request.as_ptr(), request.len() as i32);
        let len = usize::try_from(n).unwrap_or(0);
        let mut buf = vec![0u8; len];
        let read = http_response_read(buf.as_mut_ptr(), len as i32);
        buf.truncate(usize::try_from(read).unwrap_or(0));
        String::from_utf8_lossy(&buf).into_owned()
    }
}

const PRELUDE: &str = include_str!("prelude.js");
/// CommonJS `require` over installed packages; evaluated before the prelude, which takes it.
const MODULES: &str = include_str!("modules.js");
/// A representative Auth0 post-login event, parsed once at snapshot time (see `warmUp`).
const SAMPLE_EVENT: &str = include_str!("sample-event.json");

/// Handler return codes (docs/abi.md, "Handler return codes").
const OK: i32 = 0;
const FAILED: i32 = 1;
const NEVER_SETTLES: i32 = 2;
const PROTOCOL_VIOLATION: i32 = 3;

/// Stack budget QuickJS enforces itself, so runaway JS recursion becomes a
/// catchable error (reported as `stack_overflow`) well before the wasm stack
/// limit, which would also end the call but with less context.
const JS_STACK_BYTES: usize = 256 * 1024;

/// Bytes allocated within one call before QuickJS collects garbage.
const GC_THRESHOLD_BYTES: usize = 2 << 20;

struct Engine {
    runtime: Runtime,
    context: Context,
}

thread_local! {
    static ENGINE: RefCell<Option<Engine>> = const { RefCell::new(None) };
}

fn read_input() -> String {
    // SAFETY: host imports of ABI v1; the buffer is sized from input_len.
    unsafe {
        let len = usize::try_from(input_len()).unwrap_or(0);
        let mut buf = vec![0u8; len];
        let n = input_read(buf.as_mut_ptr(), len as i32);
        buf.truncate(usize::try_from(n).unwrap_or(0));
        String::from_utf8_lossy(&buf).into_owned()
    }
}

fn write_output(s: &str) {
    // SAFETY: pointer and length describe a live slice.
    unsafe {
        output_write(s.as_ptr(), s.len() as i32);
    }
}

fn host_log(level: i32, msg: &str) {
    // SAFETY: pointer and length describe a live slice.
    unsafe { log(level, msg.as_ptr(), msg.len() as i32) }
}

fn describe(ctx: &Ctx<'_>, err: rquickjs::Error) -> String {
    if matches!(err, rquickjs::Error::Exception) {
        let v = ctx.catch();
        if let Some(o) = v.as_object() {
            let msg: String = o.get("message").unwrap_or_default();
            let name: String = o.get("name").unwrap_or_default();
            return format!("{name}: {msg}");
        }
        return format!("{v:?}");
    }
    err.to_string()
}

fn install_natives(ctx: &Ctx<'_>) -> rquickjs::Result<()> {
    let g = ctx.globals();
    g.set(
        "__rb_native_log",
        Function::new(ctx.clone(), |level: i32, msg: String| host_log(level, &msg))?,
    )?;
    g.set(
        "__rb_native_http",
        Function::new(ctx.clone(), |request: String| host_http(&request))?,
    )?;
    // The JavaScript export of each trigger's handler, from the declaration:
    // the prelude dispatches and reports handlers by this map.
    let pairs: Vec<String> = rulebox_abi::TRIGGERS
        .iter()
        .filter_map(|t| Some(format!("{}:{}", json_string(t.id), json_string(t.js_export?))))
        .collect();
    g.set("__rb_handlers", format!("{{{}}}", pairs.join(",")))?;
    g.set(
        "__rb_native_step_end",
        Function::new(ctx.clone(), |output: String| {
            write_output(&output);
            // SAFETY: an ABI v1 import without arguments.
            unsafe { step_end() }
        })?,
    )?;
    Ok(())
}

/// Compiles the tenant's source into the heap. Output: `{"commands":[],
/// "result":{"ok":true}}` or `{"commands":[],"result":{"error":{...}}}` with
/// the message, line and column of a syntax error.
#[unsafe(export_name = "wizer-initialize")]
pub extern "C" fn wizer_initialize() {
    // A guest panic aborts the call; say why first.
    std::panic::set_hook(Box::new(|info| host_log(3, &format!("javascript engine panicked: {info}"))));
    let input = read_input();
    let runtime = match Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            host_log(3, &format!("cannot start QuickJS: {e}"));
            return;
        }
    };
    runtime.set_max_stack_size(JS_STACK_BYTES);
    let context = match Context::full(&runtime) {
        Ok(c) => c,
        Err(e) => {
            host_log(3, &format!("cannot create a JS context: {e}"));
            return;
        }
    };
    let out = context.with(|ctx| -> String {
        let loaded = install_natives(&ctx)
            .and_then(|()| ctx.eval::<(), _>(MODULES))
            .and_then(|()| ctx.eval::<(), _>(PRELUDE))
            .and_then(|()| {
                let load: Function = ctx.globals().get("__rb_load")?;
                load.call::<_, String>((input, SAMPLE_EVENT))
            });
        match loaded {
            Ok(s) => s,
            Err(e) => {
                let msg = describe(&ctx, e);
                format!(
                    "{{\"commands\":[],\"result\":{{\"error\":{{\"message\":{}}}}}}}",
                    json_string(&msg)
                )
            }
        }
    });
    runtime.run_gc();
    // A call's instance is thrown away afterwards, so collecting garbage
    // during a short call is wasted work (a full GC walks every builtin);
    // collect only once a call has allocated a few MiB. QuickJS compares the
    // threshold with everything allocated, so it is counted from the
    // snapshot's own heap: a heap holding npm packages (lodash alone is
    // several MiB) would otherwise be walked by a full GC on every call.
    let snapshot_heap = usize::try_from(runtime.memory_usage().malloc_size).unwrap_or(0);
    runtime.set_gc_threshold(snapshot_heap.saturating_add(GC_THRESHOLD_BYTES));
    write_output(&out);
    ENGINE.with(|e| *e.borrow_mut() = Some(Engine { runtime, context }));
}

fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Runs the job queue and virtual timers until `promise` settles or nothing
/// is left that could settle it.
fn drive<'js>(ctx: &Ctx<'js>, promise: &Promise<'js>) -> rquickjs::Result<()> {
    let next_timer: Function = ctx.globals().get("__rb_next_timer")?;
    loop {
        // A job that throws only affects tenant-made promises: the prelude's
        // own chain records errors as values.
        while ctx.execute_pending_job() {}
        if promise.state() != PromiseState::Pending {
            return Ok(());
        }
        if !next_timer.call::<_, bool>(())? {
            return Ok(());
        }
    }
}

/// Timer callbacks still run after the handler settled, at most this many.
const TIMERS_AFTER_SETTLEMENT: usize = 64;

fn drain_after_settlement(ctx: &Ctx<'_>) -> rquickjs::Result<()> {
    let next_timer: Function = ctx.globals().get("__rb_next_timer")?;
    for _ in 0..TIMERS_AFTER_SETTLEMENT {
        while ctx.execute_pending_job() {}
        if !next_timer.call::<_, bool>(())? {
            break;
        }
    }
    while ctx.execute_pending_job() {}
    Ok(())
}

/// Builds the input as JS values directly from Rust's JSON parser: QuickJS's
/// own `JSON.parse` costs ~200 wasm instructions per byte of a typical event,
/// this a small fraction of that. Properties are defined (not assigned), as
/// `JSON.parse` does, so a `"__proto__"` key is an own property, never a
/// prototype change.
fn to_js<'js>(ctx: &Ctx<'js>, v: &serde_json::Value) -> rquickjs::Result<Value<'js>> {
    use rquickjs::object::Property;
    Ok(match v {
        serde_json::Value::Null => Value::new_null(ctx.clone()),
        serde_json::Value::Bool(b) => Value::new_bool(ctx.clone(), *b),
        serde_json::Value::Number(n) => match n.as_i64().and_then(|i| i32::try_from(i).ok()) {
            Some(i) => Value::new_int(ctx.clone(), i),
            None => Value::new_float(ctx.clone(), n.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(s) => rquickjs::String::from_str(ctx.clone(), s)?.into_value(),
        serde_json::Value::Array(items) => {
            let a = rquickjs::Array::new(ctx.clone())?;
            for (i, item) in items.iter().enumerate() {
                a.set(i, to_js(ctx, item)?)?;
            }
            a.into_value()
        }
        serde_json::Value::Object(map) => {
            let o = Object::new(ctx.clone())?;
            for (k, item) in map {
                o.prop(
                    k.as_str(),
                    Property::from(to_js(ctx, item)?).writable().enumerable().configurable(),
                )?;
            }
            o.into_value()
        }
    })
}

/// Why a handler did not produce output: (code, message) per docs/abi.md.
fn failure(ctx: &Ctx<'_>, err: rquickjs::Error) -> (i32, String) {
    if !matches!(err, rquickjs::Error::Exception) {
        return (FAILED, err.to_string());
    }
    let thrown = ctx.catch();
    let classify = || -> rquickjs::Result<(i32, String)> {
        let f: Function = ctx.globals().get("__rb_failure")?;
        let o: Object = f.call((thrown,))?;
        Ok((o.get("code")?, o.get("message")?))
    };
    classify().unwrap_or_else(|e| (FAILED, e.to_string()))
}

/// Runs the handler to completion; `Ok(output)` or `Err((code, message))`.
fn run_handler(ctx: &Ctx<'_>, entry: &str, input: String) -> Result<String, (i32, String)> {
    let parsed: serde_json::Value = serde_json::from_str(&input)
        .map_err(|e| (PROTOCOL_VIOLATION, format!("the input is not JSON: {e}")))?;
    let input = to_js(ctx, &parsed).map_err(|e| failure(ctx, e))?;
    drop(parsed);
    let reseed: Function = ctx.globals().get("__rb_reseed").map_err(|e| failure(ctx, e))?;
    let [a, b, c, d] = random_seed();
    reseed
        .call::<_, ()>((a, b, c, d))
        .map_err(|e| failure(ctx, e))?;
    let dispatch: Function = ctx.globals().get("__rb_dispatch").map_err(|e| failure(ctx, e))?;
    let value: Value = dispatch.call((entry, input)).map_err(|e| failure(ctx, e))?;
    if let Some(promise) = value.as_promise() {
        drive(ctx, promise).map_err(|e| failure(ctx, e))?;
        match promise.result::<Value>() {
            None => {
                return Err((
                    NEVER_SETTLES,
                    "the code never finished (no callback call, no pending work)".into(),
                ));
            }
            Some(Err(e)) => return Err(failure(ctx, e)),
            Some(Ok(_)) => {}
        }
    }
    // Work left after settlement (a second callback call from a timer, say)
    // runs before the verdict is final.
    drain_after_settlement(ctx).map_err(|e| failure(ctx, e))?;
    let output: Function = ctx.globals().get("__rb_output").map_err(|e| failure(ctx, e))?;
    let out: String = output.call(()).map_err(|e| failure(ctx, e))?;
    if out.is_empty() {
        return Err((PROTOCOL_VIOLATION, String::new()));
    }
    Ok(out)
}

fn dispatch(entry: &str) -> i32 {
    let input = read_input();
    ENGINE.with(|cell| {
        let guard = cell.borrow();
        let Some(engine) = guard.as_ref() else {
            host_log(3, "the JavaScript engine was not initialised with a script");
            return FAILED;
        };
        engine.context.with(|ctx| match run_handler(&ctx, entry, input) {
            Ok(output) => {
                write_output(&output);
                OK
            }
            Err((code, message)) => {
                if !message.is_empty() {
                    host_log(3, &message);
                }
                code
            }
        })
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn rulebox_abi_v1() {}

/// One export per declared trigger (`on_post_login`, ...), each dispatching
/// on its id: a trigger added to the declaration is exported here too.
macro_rules! handler_exports {
    ($( ($variant:ident, $id:literal, $export:ident, $js:expr, $bindable:literal, $doc:literal) ),+ $(,)?) => {
        $(
            #[unsafe(no_mangle)]
            pub extern "C" fn $export() -> i32 {
                dispatch($id)
            }
        )+
    };
}
rulebox_abi::for_each_trigger!(handler_exports);
