;; Unbounded non-tail recursion: the depth argument is used after the call
;; returns, so no frame can be reused. Ends in the stack limit.
(module
  (memory (export "memory") 1)
  (func (export "rulebox_abi_v1"))
  (func $recurse (param $depth i32) (result i32)
    (i32.add
      (call $recurse (i32.add (local.get $depth) (i32.const 1)))
      (local.get $depth)))
  (func (export "on_post_login") (result i32)
    (drop (call $recurse (i32.const 0)))
    i32.const 0))
