;; The smallest valid ABI v1 module: one command, success.
(module
  (import "rulebox" "output_write" (func $output_write (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "{\"commands\":[{\"op\":\"add_scope\",\"scope\":\"wat\"}]}")
  (func (export "rulebox_abi_v1"))
  (func (export "on_post_login") (result i32)
    (drop (call $output_write (i32.const 0) (i32.const 47)))
    i32.const 0))
