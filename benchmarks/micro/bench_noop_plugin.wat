;; bench_noop_plugin.c as a wasm guest (ntx/wasm_guest.h's contract, written in wat to stay tiny): `noop`
;; completes its action inside ntx_run_action with a counts-only result. micro_scheduler.cpp runs it
;; interpreted (kind: wasm) and compiled (ntx wasm compile) beside the native plugin.
(module
  (import "ntx" "action_complete" (func $complete (param i32 i32) (result i32)))
  (memory (export "memory") 2)
  (global $next (mut i32) (i32.const 0))
  ;; ntx_wasm_plugin_t: size 28, plugin ABI 1.2, name, version, capabilities, 1 capability
  (data (i32.const 0x100) "\1c\00\00\00\01\00\00\00\02\00\00\00\00\02\00\00\10\02\00\00\20\02\00\00\01\00\00\00")
  (data (i32.const 0x200) "noop\00")
  (data (i32.const 0x210) "1.0.0\00")
  (data (i32.const 0x220) "\00\03\00\00")
  (data (i32.const 0x300) "noop\00")
  (func (export "ntx_abi_version") (result i32) (i32.const 0x10000))
  (func (export "ntx_describe") (result i32) (i32.const 0x100))
  ;; a ring of 16 blocks of 4 KiB from 0x8000 for the host's short-lived blocks
  (func (export "ntx_alloc") (param $size i32) (result i32)
    (if (i32.gt_u (local.get $size) (i32.const 0x1000)) (then (unreachable)))
    (global.set $next (i32.and (i32.add (global.get $next) (i32.const 1)) (i32.const 15)))
    (i32.add (i32.const 0x8000) (i32.shl (global.get $next) (i32.const 12))))
  (func (export "ntx_free") (param i32))
  (func (export "ntx_init") (param i32) (result i32) (i32.const 0))
  (func (export "ntx_release"))
  (func (export "ntx_on_error") (param i32 i32 i32 i32 i32))
  (func (export "ntx_run_action") (param $h i32) (param $ctx i32) (result i32)
    ;; ntx_result_t at 0x400: size 40, no fields, bytes_sent = param_count, status 200
    (i32.store (i32.const 0x400) (i32.const 40))
    (i64.store (i32.const 0x410) (i64.extend_i32_u (i32.load offset=48 (local.get $ctx))))
    (i32.store (i32.const 0x420) (i32.const 200))
    (call $complete (local.get $h) (i32.const 0x400))))
