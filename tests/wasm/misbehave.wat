;; A wasm plugin that breaks the contract on purpose, one capability per misdeed (tests/e2e/test_wasm_plugins.py):
;;   ok      completes                          trap    hits `unreachable`
;;   loop    never returns (the budget ends it) badptr  passes a result pointer outside its memory
;;   twice   completes its action twice         late    keeps its action; the host times it out (on_error),
;;                                                      and the next action completes the dead handle first
;;   print   writes to stderr through WASI fd_write (the log, warn); fd_close answers ENOSYS
;;   exit    calls WASI proc_exit (a trap)      grow    asks memory.grow for 4 GiB: refused, fails NTX_E_NOMEM
;;   deep    recurses without end (call stack exhaustion, a trap)
;;   wait    (well-behaved) completes 50 ms later, from a host timer (timer_schedule, ntx_on_timer)
(module
  (import "ntx" "action_complete" (func $complete (param i32 i32) (result i32)))
  (import "ntx" "action_fail" (func $fail (param i32 i32 i32 i32 i32) (result i32)))
  (import "ntx" "timer_schedule" (func $timer (param i32 i64 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 2)
  (global $next (mut i32) (i32.const 0))
  ;; ntx_wasm_plugin_t at 0x100: size, abi 1.2, name, version, capabilities, count
  (data (i32.const 0x100) "\1c\00\00\00\01\00\00\00\02\00\00\00\00\02\00\00\10\02\00\00\20\02\00\00\0b\00\00\00")
  (data (i32.const 0x200) "misbehave\00")
  (data (i32.const 0x210) "1.0.0\00")
  (data (i32.const 0x220) "\00\03\00\00\08\03\00\00\10\03\00\00\18\03\00\00\20\03\00\00\28\03\00\00\30\03\00\00\38\03\00\00\40\03\00\00\48\03\00\00\50\03\00\00")
  (data (i32.const 0x300) "ok\00\00\00\00\00\00trap\00\00\00\00loop\00\00\00\00badptr\00\00twice\00\00\00late\00\00\00\00print\00\00\00exit\00\00\00\00grow\00\00\00\00deep\00\00\00\00wait\00")
  ;; print's iovec {0x520, 16} and text; grow's reason
  (data (i32.const 0x500) "\20\05\00\00\10\00\00\00")
  (data (i32.const 0x520) "hello from wasi\n")
  (data (i32.const 0x540) "memory.grow refused")
  (func (export "ntx_abi_version") (result i32) (i32.const 0x10000))
  (func (export "ntx_describe") (result i32) (i32.const 0x100))
  ;; a ring of 16 blocks of 4 KiB from 0x8000: enough for the host's short-lived blocks
  (func (export "ntx_alloc") (param $size i32) (result i32)
    (if (i32.gt_u (local.get $size) (i32.const 0x1000)) (then (unreachable)))
    (global.set $next (i32.and (i32.add (global.get $next) (i32.const 1)) (i32.const 15)))
    (i32.add (i32.const 0x8000) (i32.shl (global.get $next) (i32.const 12))))
  (func (export "ntx_free") (param i32))
  (func (export "ntx_init") (param i32) (result i32) (i32.const 0))
  (func (export "ntx_release"))
  (func (export "ntx_on_error") (param i32 i32 i32 i32 i32))
  ;; the timer's userdata is the action's handle
  (func (export "ntx_on_timer") (param $cb i32) (param $userdata i32) (param $timer i64)
    (drop (call $complete (local.get $userdata) (i32.const 0))))
  (func $deep (param i32) (result i32) (i32.add (call $deep (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
  (func (export "ntx_run_action") (param $h i32) (param $ctx i32) (result i32)
    (local $call i32)
    ;; the first two letters of ctx->call (ntx_str_t at offset 36)
    (local.set $call (i32.load16_u (i32.load offset=36 (local.get $ctx))))
    (if (i32.eq (local.get $call) (i32.const 0x616c))  ;; "la": keep the handle, never end it
      (then (i32.store (i32.const 0x400) (local.get $h)) (return (i32.const 0))))
    (if (i32.load (i32.const 0x400))  ;; a kept handle the host has ended since: completing it is refused
      (then (drop (call $complete (i32.load (i32.const 0x400)) (i32.const 0)))
            (i32.store (i32.const 0x400) (i32.const 0))))
    (if (i32.eq (local.get $call) (i32.const 0x7274)) (then (unreachable)))  ;; "tr"
    (if (i32.eq (local.get $call) (i32.const 0x6f6c)) (then (loop $forever (br $forever))))  ;; "lo"
    (if (i32.eq (local.get $call) (i32.const 0x6162))  ;; "ba"
      (then (drop (call $complete (local.get $h) (i32.const 0x7ffffff0))) (return (i32.const 0))))
    (if (i32.eq (local.get $call) (i32.const 0x7270))  ;; "pr"
      (then (drop (call $fd_write (i32.const 2) (i32.const 0x500) (i32.const 1) (i32.const 0x510)))
            (if (i32.ne (call $fd_close (i32.const 3)) (i32.const 52)) (then (unreachable)))))
    (if (i32.eq (local.get $call) (i32.const 0x7865)) (then (call $proc_exit (i32.const 3))))  ;; "ex"
    (if (i32.eq (local.get $call) (i32.const 0x7267))  ;; "gr"
      (then (if (i32.eq (memory.grow (i32.const 65536)) (i32.const -1))
              (then (return (call $fail (local.get $h) (i32.const -2) (i32.const 0x540) (i32.const 19) (i32.const 0)))))))
    (if (i32.eq (local.get $call) (i32.const 0x6177))  ;; "wa": the timer completes it
      (then (return (call $timer (i32.load offset=56 (local.get $ctx)) (i64.const 50) (i32.const 0) (local.get $h) (i32.const 0x410)))))
    (if (i32.eq (local.get $call) (i32.const 0x6564)) (then (drop (call $deep (i32.const 0)))))  ;; "de"
    (if (i32.eq (local.get $call) (i32.const 0x7774))  ;; "tw"
      (then (drop (call $complete (local.get $h) (i32.const 0)))))
    (drop (call $complete (local.get $h) (i32.const 0)))
    (i32.const 0)))
