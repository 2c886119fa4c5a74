;; Declares ABI v1 but exports no trigger handler at all: the function that
;; would be one is exported under a name the host does not know.
(module
  (import "rulebox" "output_write" (func $output_write (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "{\"commands\":[]}")
  (func (export "rulebox_abi_v1"))
  (func (export "handler") (result i32)
    (drop (call $output_write (i32.const 0) (i32.const 15)))
    i32.const 0))
