;; Asks the host to read its output from 0xFFFF_FFF0..+100, far outside its
;; one-page memory (and wrapping past 4 GiB): the host must bounds-check the
;; range, not trust it.
(module
  (import "rulebox" "output_write" (func $output_write (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "rulebox_abi_v1"))
  (func (export "on_post_login") (result i32)
    (drop (call $output_write (i32.const 0xFFFFFFF0) (i32.const 100)))
    i32.const 0))
