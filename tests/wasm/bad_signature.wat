;; Imports ntx.log with a signature the host does not have: refused at load, naming both signatures.
(module
  (import "ntx" "log" (func (param i32) (result i32)))
  (memory (export "memory") 1))
