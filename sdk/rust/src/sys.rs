//! The `rulebox` host imports of ABI v1 (see `docs/abi.md`).
//!
//! rustc mangles the symbols of functions with a `wasm_import_module`, so
//! `log` here does not collide with libm's `log` that `f64::ln` links.

#[link(wasm_import_module = "rulebox")]
unsafe extern "C" {
    pub fn input_len() -> i32;
    pub fn input_read(ptr: *mut u8, len: i32) -> i32;
    pub fn output_write(ptr: *const u8, len: i32) -> i32;
    pub fn log(level: i32, ptr: *const u8, len: i32);
}

#[link(wasm_import_module = "rulebox")]
unsafe extern "C" {
    pub fn http_request(ptr: *const u8, len: i32) -> i32;
    pub fn http_response_read(ptr: *mut u8, len: i32) -> i32;
}
