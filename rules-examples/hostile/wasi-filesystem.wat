;; Imports WASI's path_open, which grants file-system authority, and tries to
;; open /etc/passwd through fd 3 (the first preopen, if there were one).
;; Must be refused at upload (capability_denied) before it can run.
(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open
      (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "rulebox" "output_write" (func $output_write (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "etc/passwd")
  (data (i32.const 64) "{\"commands\":[]}")
  (func (export "rulebox_abi_v1"))
  (func (export "on_post_login") (result i32)
    (drop
      (call $path_open
        (i32.const 3)      ;; dirfd
        (i32.const 0)      ;; dirflags
        (i32.const 0)      ;; path ptr
        (i32.const 10)     ;; path len
        (i32.const 0)      ;; oflags
        (i64.const 2)      ;; fs_rights_base: fd_read
        (i64.const 0)      ;; fs_rights_inheriting
        (i32.const 0)      ;; fdflags
        (i32.const 128)))  ;; out: opened fd
    (drop (call $output_write (i32.const 64) (i32.const 15)))
    i32.const 0))
