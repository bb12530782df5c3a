;; Imports a host function the wasm contract does not have (ntx.fd_watch): refused at load, named with its signature.
(module
  (import "ntx" "fd_watch" (func (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1))
