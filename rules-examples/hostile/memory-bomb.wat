;; Grows memory by 16 pages (1 MiB) at a time, forever. When a grow fails
;; (-1) it touches the last byte of the memory it has and tries again, so the
;; call never finishes normally: the memory limit (a trap on grow failure),
;; fuel or the deadline must end it.
(module
  (memory (export "memory") 1)
  (func (export "rulebox_abi_v1"))
  (func (export "on_post_login") (result i32)
    (loop $grow
      (if (i32.eq (memory.grow (i32.const 16)) (i32.const -1))
        (then
          ;; last byte of the current memory: size * 64 KiB - 1
          (i32.store8
            (i32.sub (i32.shl (memory.size) (i32.const 16)) (i32.const 1))
            (i32.const 0xAA))))
      br $grow)
    i32.const 0))
