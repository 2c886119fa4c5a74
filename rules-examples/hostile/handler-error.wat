;; Logs "boom" at error level, then returns handler code 7 (not a defined
;; code): the outcome is a trap naming the code, with "boom" as the message.
(module
  (import "rulebox" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "boom")
  (func (export "rulebox_abi_v1"))
  (func (export "on_post_login") (result i32)
    (call $log (i32.const 3) (i32.const 0) (i32.const 4))
    i32.const 7))
