;; Never returns: only fuel or the wall-clock deadline can end the call.
;; Makes no calls, so wasmtime flushes its fuel counter only at fuel checks.
(module
  (memory (export "memory") 1)
  (func (export "rulebox_abi_v1"))
  (func (export "on_post_login") (result i32)
    (loop $forever
      br $forever)
    i32.const 0))
