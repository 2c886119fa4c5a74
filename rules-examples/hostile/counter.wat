;; Isolation probe in WAT: each call adds 1 to a mutable global and to the
;; i32 at memory offset 0, then reports their sum as id-token claim `count`.
;; A fresh instance reports 2 (global 1 + memory 1); any reuse of globals or
;; memory between calls reports "stale".
(module
  (import "rulebox" "output_write" (func $output_write (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (global $calls (mut i32) (i32.const 0))
  ;; 67 bytes at 16: the fresh-instance answer
  (data (i32.const 16) "{\"commands\":[{\"op\":\"set_id_token_claim\",\"name\":\"count\",\"value\":2}]}")
  ;; 73 bytes at 128: what any other state produces
  (data (i32.const 128) "{\"commands\":[{\"op\":\"set_id_token_claim\",\"name\":\"count\",\"value\":\"stale\"}]}")
  (func (export "rulebox_abi_v1"))
  (func (export "on_post_login") (result i32)
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (i32.store (i32.const 0) (i32.add (i32.load (i32.const 0)) (i32.const 1)))
    (if (i32.eq (i32.add (global.get $calls) (i32.load (i32.const 0))) (i32.const 2))
      (then (drop (call $output_write (i32.const 16) (i32.const 67))))
      (else (drop (call $output_write (i32.const 128) (i32.const 73)))))
    i32.const 0))
