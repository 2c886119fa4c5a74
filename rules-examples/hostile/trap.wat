;; Executes `unreachable`: the way Rust's panic=abort ends a guest.
(module
  (memory (export "memory") 1)
  (func (export "rulebox_abi_v1"))
  (func (export "on_post_login") (result i32)
    unreachable))
