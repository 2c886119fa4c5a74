;; Writes a 1 MiB output: `{"commands":[]}` padded with spaces, i.e. valid
;; JSON, so the only thing wrong with it is its size (over any output limit).
(module
  (import "rulebox" "output_write" (func $output_write (param i32 i32) (result i32)))
  ;; 17 pages: the 1 MiB document plus room to spare
  (memory (export "memory") 17)
  (data (i32.const 0) "{\"commands\":[]}")
  (func (export "rulebox_abi_v1"))
  (func (export "on_post_login") (result i32)
    ;; 15 bytes of JSON, then spaces up to 1 MiB
    (memory.fill (i32.const 15) (i32.const 0x20) (i32.sub (i32.const 1048576) (i32.const 15)))
    (drop (call $output_write (i32.const 0) (i32.const 1048576)))
    i32.const 0))
