;; A well-behaved wasm plugin for the host calls the echo example does not make
;; (tests/e2e/test_wasm_plugins.py):
;;   report  sends progress (scope action, 0.5, {stage: wasm}) through ntx.progress, then completes
;;   spawn   asks for an ad hoc task (ntx.request_task, call `report`, no params), then completes
;; Any host call that does not answer NTX_OK traps (`unreachable`): a counted error, never a silent pass.
(module
  (import "ntx" "action_complete" (func $complete (param i32 i32) (result i32)))
  (import "ntx" "progress" (func $progress (param i32 i32) (result i32)))
  (import "ntx" "request_task" (func $request (param i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (global $next (mut i32) (i32.const 0))
  ;; ntx_wasm_plugin_t at 0x100: size, abi 1.2, name, version, capabilities, count
  (data (i32.const 0x100) "\1c\00\00\00\01\00\00\00\02\00\00\00\00\02\00\00\10\02\00\00\20\02\00\00\02\00\00\00")
  (data (i32.const 0x200) "spawner\00")
  (data (i32.const 0x210) "1.0.0\00")
  (data (i32.const 0x220) "\00\03\00\00\08\03\00\00")
  (data (i32.const 0x300) "report\00\00spawn\00")
  ;; ntx_progress_t at 0x400 (wasm32): size 24, scope 4 (action), progress 0.5, fields 0x420, count 1
  (data (i32.const 0x400) "\18\00\00\00\04\00\00\00\00\00\00\00\00\00\e0\3f\20\04\00\00\01\00\00\00")
  ;; its field {stage: wasm}: key (0x440, 5), value (0x448, 4)
  (data (i32.const 0x420) "\40\04\00\00\05\00\00\00\48\04\00\00\04\00\00\00")
  (data (i32.const 0x440) "stage\00\00\00wasm")
  ;; ntx_task_request_t at 0x480 (wasm32): size 28, template "" , params NULL/0, call (0x300, 6) "report"
  (data (i32.const 0x480) "\1c\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\03\00\00\06\00\00\00")
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
  (func (export "ntx_run_action") (param $h i32) (param $ctx i32) (result i32)
    (local $call i32)
    ;; the first two letters of ctx->call (ntx_str_t at offset 36)
    (local.set $call (i32.load16_u (i32.load offset=36 (local.get $ctx))))
    (if (i32.eq (local.get $call) (i32.const 0x7073))  ;; "sp"
      (then (if (call $request (local.get $h) (i32.const 0x480) (i32.const 0x4c0)) (then (unreachable)))
            ;; the task id the host handed back is not 0
            (if (i64.eqz (i64.load (i32.const 0x4c0))) (then (unreachable)))))
    (if (i32.eq (local.get $call) (i32.const 0x6572))  ;; "re"
      (then (if (call $progress (local.get $h) (i32.const 0x400)) (then (unreachable)))))
    (if (call $complete (local.get $h) (i32.const 0)) (then (unreachable)))
    (i32.const 0)))
