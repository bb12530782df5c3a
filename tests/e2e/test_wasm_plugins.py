"""Wasm plugins on both backends: `kind: wasm` through the wasm loader (libntx_wasm.so, wabt's
interpreter) and `ntx wasm compile` (wasm2c, an ordinary .so). The echo protocol compiled to wasm runs a
scenario against a real echo server with zero errors and conforms; bad modules are refused at load (or
at compile) with a precise message; a module that traps, loops, passes a bad pointer, completes twice or
after on_error fails only that action (a counted error) and the run goes on."""
import os
import shutil
import subprocess
import tempfile

from echo_server import EchoServer
from harness import BUILD, SOURCE, action, check, main, run_ntx, run_script, scenario, validate_script

WASM = os.path.join(BUILD, "wasm")
ECHO = os.path.join(WASM, "ntx_echo.wasm")
ECHO_AOT = os.path.join(WASM, "aot", "ntx_echo.so")
MISBEHAVE_AOT = os.path.join(WASM, "aot", "ntx_misbehave.so")


def compiled(script, wasm_entry, so):
    """The script with its wasm component replaced by the compiled plugin `so` (a native entry)."""
    old = f"    kind: wasm\n    entry: {wasm_entry}"
    check(old in script, script)
    return script.replace(old, f"    entry: ./{so}")


def test_plugins_info_shows_the_backend():
    for path, backend in ((ECHO, "wasm (wabt interpreter)"), (ECHO_AOT, "wasm (wasm2c, ahead of time)")):
        rc, out, err = run_ntx("plugins", "info", path)
        check(rc == 0, f"exit {rc}: {out}{err}")
        for line in ("name:          echo", "version:       1.0.0", "abi:           1.3",
                     "capabilities:  connect, send, close", "backend:       " + backend):
            check(line in out, out)


def test_the_wasm_echo_example_runs_with_zero_errors():
    for aot in (False, True):
        echo_scenario(aot)


def echo_scenario(aot):
    res_dir = os.path.join(SOURCE, "examples", "wasm-echo", "res_dir")
    with EchoServer() as echo, tempfile.TemporaryDirectory() as tmp:
        files = {}
        for rel in ("config.yaml", "resource/config.yaml"):
            with open(os.path.join(res_dir, rel)) as f:
                files[rel] = f.read()
        files["echo-server.csv"] = f"ip,port\n127.0.0.1,{echo.port}\n"
        with open(ECHO, "rb") as f:
            files["ntx_echo.wasm"] = f.read()
        with open(os.path.join(res_dir, "script.yaml")) as f:
            script = f.read()
        if aot:
            with open(ECHO_AOT, "rb") as f:
                files["ntx_echo.so"] = f.read()
            script = compiled(script, "ntx_echo.wasm     # relative to this res_dir", "ntx_echo.so")
        _, report = run_script(tmp, script, files=files)
    scen = scenario(report, "echo-lines")
    for name, count in (("open", 50), ("say", 150), ("bye", 50)):
        a = action(scen, name)
        check(a["count"] == count and a["ok"] == count and a["errors"] == 0 and a["timeouts"] == 0, f"aot={aot} {name}: {a}")
    check(echo.bytes > 0, "the echo server saw no bytes")


def test_the_wasm_echo_conforms():
    for path in (ECHO, ECHO_AOT):
        conforms(path)


def conforms(path):
    kit = os.path.join(os.path.dirname(os.environ["NTX_BIN"]), "ntx-conformance")
    with EchoServer(lines=True) as echo:
        p = subprocess.run([kit, path, "--with", "connect.host=127.0.0.1", "--with", f"connect.port={echo.port}",
                            "--with", "send.line=hi", "--with", "send.host=127.0.0.1", "--with", f"send.port={echo.port}"],
                           capture_output=True, text=True, timeout=240)
    out = p.stdout
    check(p.returncode == 0 and "FAIL" not in out and out.strip().splitlines()[-1].startswith("CONFORMS"), f"{out}{p.stderr}")
    check("PASS  send: with your parameters" in out and "action 1 completed; action 2 completed" in out, out)
    check("WARN" not in out, out)
    if path.endswith(".so"):  # a compiled plugin's entry is checked as any .so's
        check("PASS  entry: honours the plugin table's size" in out, out)


def test_validate_reports_the_wasm_plugins_param_problems():
    # validate_action runs inside the module, on a probe instance, at planning.
    res_dir = os.path.join(SOURCE, "examples", "wasm-echo", "res_dir")
    with open(os.path.join(res_dir, "script.yaml")) as f:
        script = f.read()
    script = script.replace('port: "{{resource.port}}"', 'port: "99999"').replace(
        'line: "hello from user {{env.user_id}}"', 'line: "hi"\n      lines: "typo"')
    with open(ECHO, "rb") as f:
        stderr = validate_script(script, files={"ntx_echo.wasm": f.read(), "echo-server.csv": "ip,port\n127.0.0.1,7\n"})
    check("error: action 'open': port must be a number in 1..65535" in stderr, stderr)
    check("error: action 'say': unknown param (send takes line, host, port)" in stderr, stderr)


def load_error(path):
    rc, out, err = run_ntx("plugins", "info", path)
    check(rc == 3, f"{path}: exit {rc}: {out}{err}")
    return out


def test_bad_modules_are_refused_at_load():
    with tempfile.TemporaryDirectory() as tmp:
        def write(name, data):
            p = os.path.join(tmp, name)
            with open(p, "wb") as f:
                f.write(data)
            return p
        with open(ECHO, "rb") as f:
            echo = f.read()
        cases = [
            (write("text.wasm", b"hello, not wasm\n"), "not a WebAssembly module (the file does not start with the \\0asm magic)"),
            (write("elf.wasm", b"\x7fELF\x02\x01\x01" + bytes(64)), "an ELF file: a native plugin is named *.so"),
            (write("short.wasm", echo[:6]), "truncated WebAssembly module: 6 bytes"),
            (write("cut.wasm", echo[: len(echo) // 2]), "invalid WebAssembly module at offset 0x"),
            (write("component.wasm", b"\x00asm\x0d\x00\x01\x00"), "a WebAssembly component (component model, wasip2)"),
            (os.path.join(WASM, "bad_import.wasm"),
             "imports ntx.fd_watch (func (param i32 i32 i32 i32 i32) (result i32)), which this host does not provide"),
            (os.path.join(WASM, "bad_signature.wasm"),
             "imports ntx.log (func (param i32) (result i32)), but the host provides (func (param i32 i32 i32 i32))"),
            (os.path.join(WASM, "missing_export.wasm"), "missing export 'ntx_run_action' (func (param i32 i32) (result i32))"),
            (os.path.join(WASM, "bad_describe.wasm"), "ntx_describe returned a pointer outside the module's memory"),
        ]
        for path, message in cases:
            out = load_error(path)
            check(message in out, f"{path}: expected {message!r} in:\n{out}")
            # `ntx wasm compile` makes the same checks before it translates anything.
            rc, out, err = run_ntx("wasm", "compile", path, "-o", os.path.join(tmp, "out.so"))
            check(rc == 2 and message in err and not os.path.exists(os.path.join(tmp, "out.so")), f"{path}: {rc} {err}")


def test_a_script_with_a_bad_module_does_not_start():
    with tempfile.TemporaryDirectory() as tmp:
        script = ("version: \"1.0\"\ncomponents:\n  - name: bad\n    version: \"1.0.0\"\n    kind: wasm\n"
                  "    entry: bad_import.wasm\nactions:\n  a: {component: bad, call: x}\n"
                  "workflows:\n  w: {steps: [{ref: a}]}\nload:\n  scenarios:\n    - {name: s, workflow: w, user-count: 1}\n")
        res = os.path.join(tmp, "res")
        os.makedirs(res)
        with open(os.path.join(res, "script.yaml"), "w") as f:
            f.write(script)
        shutil.copy(os.path.join(WASM, "bad_import.wasm"), res)
        rc, out, err = run_ntx("run", res, "--out", os.path.join(tmp, "out"))
    check(rc != 0 and "imports ntx.fd_watch" in err, f"exit {rc}: {err}")


MISDEEDS = """version: "1.0"
components:
  - name: bad
    version: "1.0.0"
    kind: wasm
    entry: misbehave.wasm
workflows:
  all:
    steps: [{ref: ok}, {ref: trap}, {ref: ok}, {ref: loop}, {ref: ok}, {ref: badptr}, {ref: ok},
            {ref: twice}, {ref: late}, {ref: ok}, {ref: print}, {ref: exit}, {ref: grow}, {ref: ok}, {ref: deep}, {ref: ok}, {ref: wait}]
    on-error: [{goto: next}]
    on-timeout: [{goto: next}]
actions:
  ok: {component: bad, call: ok}
  trap: {component: bad, call: trap}
  loop: {component: bad, call: loop}
  badptr: {component: bad, call: badptr}
  twice: {component: bad, call: twice}
  late: {component: bad, call: late, timeout: 200ms}
  print: {component: bad, call: print}
  exit: {component: bad, call: exit}
  grow: {component: bad, call: grow}
  deep: {component: bad, call: deep}
  wait: {component: bad, call: wait, timeout: 2s}
load:
  scenarios:
    - {name: misdeeds, workflow: all, user-count: 1}
"""


def test_kind_wasm_needs_a_wasm_entry_and_wasi_component_is_refused():
    head = "version: \"1.0\"\ncomponents:\n  - name: c\n    version: \"1.0.0\"\n    kind: {kind}\n    entry: {entry}\n"
    tail = ("actions:\n  a: {component: c, call: x}\nworkflows:\n  w: {steps: [{ref: a}]}\n"
            "load:\n  scenarios:\n    - {name: s, workflow: w, user-count: 1}\n")
    err = validate_script(head.format(kind="wasm", entry="echo") + tail)
    check("script.yaml:6:12: error: component 'c': a wasm component's entry is its .wasm file" in err, err)
    err = validate_script(head.format(kind="wasi-component", entry="c.wasm") + tail)
    check("error: component 'c': wasi components (wasip2) cannot run here" in err and "declare `kind: wasm`" in err, err)


def test_misbehaving_actions_are_counted_and_the_run_goes_on():
    for aot in (False, True):
        misdeeds(aot)


def misdeeds(aot):
    os.environ["NTX_WASM_FUEL"] = "2000000"  # the budget per call: `loop` ends in a few ms
    try:
        with tempfile.TemporaryDirectory() as tmp:
            if aot:
                with open(MISBEHAVE_AOT, "rb") as f:
                    files = {"ntx_misbehave.so": f.read()}
                script = compiled(MISDEEDS, "misbehave.wasm", "ntx_misbehave.so")
            else:
                with open(os.path.join(WASM, "misbehave.wasm"), "rb") as f:
                    files = {"misbehave.wasm": f.read()}
                script = MISDEEDS
            run, report = run_script(tmp, script, files=files)
    finally:
        del os.environ["NTX_WASM_FUEL"]
    scen = scenario(report, "misdeeds")
    ok = action(scen, "ok")
    check(ok["count"] == 7 and ok["ok"] == 7, f"every ok after a misdeed runs on a fresh instance: {ok}")
    for name, kind, reason in (("trap", "internal", "wasm trap in ntx_run_action: unreachable"),
                               ("loop", "limit", "wasm budget exhausted in ntx_run_action"),
                               ("badptr", "internal", "result pointer 0x7ffffff0 is outside the module's memory"),
                               ("exit", "internal", "wasm trap in ntx_run_action: proc_exit(3)"),
                               ("grow", "nomem", "memory.grow refused"),
                               ("deep", "internal", "wasm trap in ntx_run_action: call stack exhausted")):
        a = action(scen, name)
        check(a["errors"] == 1 and a["errors_by_kind"] == {kind: 1}, f"aot={aot} {name}: {a}")
        check(reason in a["error_examples"][kind]["reason"], f"aot={aot} {name}: {a}")
    twice = action(scen, "twice")
    check(twice["ok"] == 1 and twice["errors"] == 0, f"twice: the first outcome stands: {twice}")
    late = action(scen, "late")
    check(late["timeouts"] == 1, f"late: {late}")
    check("which is not live (ended already: completed twice, or after on_error)" in run.stderr, run.stderr[-2000:])
    check(run.stderr.count("the instance is re-created") == 5, run.stderr[-2000:])
    wait = action(scen, "wait")
    check(wait["ok"] == 1 and wait["latency_ms"]["min"] >= 45, f"wait: completed by a host timer: {wait}")
    printed = action(scen, "print")
    check(printed["ok"] == 1, f"print: WASI fd_write and an ENOSYS answer: {printed}")
    check("hello from wasi" in run.stdout + run.stderr, "fd_write(2) did not reach the log")


if __name__ == "__main__":
    main([test_plugins_info_shows_the_backend, test_the_wasm_echo_example_runs_with_zero_errors,
          test_the_wasm_echo_conforms, test_validate_reports_the_wasm_plugins_param_problems,
          test_bad_modules_are_refused_at_load, test_a_script_with_a_bad_module_does_not_start,
          test_kind_wasm_needs_a_wasm_entry_and_wasi_component_is_refused,
          test_misbehaving_actions_are_counted_and_the_run_goes_on])
