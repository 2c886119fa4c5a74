;; Declares 4096 pages (256 MiB) of initial memory, more than any tenant
;; limit: it must fail before its code runs, without the host allocating it.
(module
  (import "rulebox" "output_write" (func $output_write (param i32 i32) (result i32)))
  (memory (export "memory") 4096)
  (data (i32.const 0) "{\"commands\":[]}")
  (func (export "rulebox_abi_v1"))
  (func (export "on_post_login") (result i32)
    (drop (call $output_write (i32.const 0) (i32.const 15)))
    i32.const 0))
