;; A working handler without the `rulebox_abi_v1` marker: a module built for
;; some other host (or a future ABI) must not be run as v1.
(module
  (import "rulebox" "output_write" (func $output_write (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "{\"commands\":[]}")
  (func (export "on_post_login") (result i32)
    (drop (call $output_write (i32.const 0) (i32.const 15)))
    i32.const 0))
