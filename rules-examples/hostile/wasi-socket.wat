;; Imports WASI's sock_accept, which grants network authority.
;; Must be refused at upload (capability_denied) before it can run.
(module
  (import "wasi_snapshot_preview1" "sock_accept"
    (func $sock_accept (param i32 i32 i32) (result i32)))
  (import "rulebox" "output_write" (func $output_write (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "{\"commands\":[]}")
  (func (export "rulebox_abi_v1"))
  (func (export "on_post_login") (result i32)
    (drop (call $sock_accept (i32.const 3) (i32.const 0) (i32.const 128)))
    (drop (call $output_write (i32.const 64) (i32.const 15)))
    i32.const 0))
