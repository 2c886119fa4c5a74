;; Writes `not json` as its output and claims success.
(module
  (import "rulebox" "output_write" (func $output_write (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "not json")
  (func (export "rulebox_abi_v1"))
  (func (export "on_post_login") (result i32)
    (drop (call $output_write (i32.const 0) (i32.const 8)))
    i32.const 0))
