"""Wasm plugins on both backends: `kind: wasm` through the wasm loader (libntx_wasm.so, wabt's
interpreter) and `ntx wasm compile` (wasm2c, an ordinary .so). The echo protocol compiled to wasm runs a
scenario against a real echo server with zero errors and conforms; bad modules are refused at load (or
at compile) with a precise message; a module that traps, loops, passes a bad pointer, completes twice or
after on_error fails only that action (a counted error) and the run goes on."""
import json
import os
import shutil
import subprocess
import tempfile

from echo_server import EchoServer
from nginx_server import make_certificate
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
        for line in ("name:          echo", "version:       1.0.0", "abi:           1.4",
                     "capabilities:  connect, send, close", "backend:       " + backend):
            check(line in out, out)


def test_a_wasm_module_on_the_plugin_path_is_listed_and_found_by_name():
    """ntx_NAME.wasm on the search path is a plugin like ntx_NAME.so: listed with its backend, found by
    `plugins info NAME` and by a script's `entry: NAME`, and shadowed by an ntx_NAME.so in the same
    directory (the loader tries .so first)."""
    with tempfile.TemporaryDirectory() as plugins, tempfile.TemporaryDirectory() as tmp:
        shutil.copy(ECHO, os.path.join(plugins, "ntx_wecho.wasm"))
        rc, out, err = run_ntx("plugins", "list", "--json", "--plugin-path", plugins)
        check(rc == 0, f"exit {rc}: {err}")
        listed = {os.path.basename(p["path"]): p for p in json.loads(out)["plugins"] if p["path"].startswith(plugins)}
        wecho = listed.get("ntx_wecho.wasm")
        check(wecho is not None and wecho["loaded"] and wecho["name"] == "echo", f"{listed}")
        check(wecho["backend"] == "wasm (wabt interpreter)" and not wecho["shadowed"], f"{wecho}")
        rc, out, err = run_ntx("plugins", "info", "wecho", "--plugin-path", plugins)
        check(rc == 0 and "backend:       wasm (wabt interpreter)" in out and "ntx_wecho.wasm" in out, f"exit {rc}: {out}{err}")
        # A native plugin of the same file name in the same directory comes first.
        shutil.copy(ECHO_AOT, os.path.join(plugins, "ntx_wecho.so"))
        rc, out, err = run_ntx("plugins", "list", "--json", "--plugin-path", plugins)
        listed = {os.path.basename(p["path"]): p for p in json.loads(out)["plugins"] if p["path"].startswith(plugins)}
        check(not listed["ntx_wecho.so"]["shadowed"] and listed["ntx_wecho.wasm"]["shadowed"], f"{listed}")
        rc, out, err = run_ntx("plugins", "info", "wecho", "--plugin-path", plugins)
        check(rc == 0 and "ntx_wecho.so" in out and "wasm2c" in out, f"exit {rc}: {out}{err}")
        os.remove(os.path.join(plugins, "ntx_wecho.so"))
        # A script names it by its file name, as it would a native plugin (no `kind`: the loader knows
        # a module by its file).
        res_dir = os.path.join(SOURCE, "examples", "wasm-echo", "res_dir")
        with open(os.path.join(res_dir, "script.yaml")) as f:
            script = f.read()
        old = "    kind: wasm\n    entry: ntx_echo.wasm     # relative to this res_dir"
        check(old in script, script)
        with EchoServer() as echo:
            files = {"echo-server.csv": f"ip,port\n127.0.0.1,{echo.port}\n"}
            for rel in ("config.yaml", "resource/config.yaml"):
                with open(os.path.join(res_dir, rel)) as f:
                    files[rel] = f.read()
            _, report = run_script(tmp, script.replace(old, "    entry: wecho"), "--plugin-path", plugins,
                                   files=files)
        say = action(scenario(report, "echo-lines"), "say")
        check(say["ok"] == 150 and say["errors"] == 0, f"{say}")


SPAWNER = """
components:
  - name: spawner
    version: "1.0.0"
    {kind}
    entry: {entry}
progress:
  batching: {{max-batch-size: 5, flush-interval: 50ms}}
workflows:
  w: {{steps: [{{ref: spawn}}]}}
actions:
  spawn: {{component: spawner, call: spawn}}
load:
  scenarios:
    - {{name: s, workflow: w, user-count: 6}}
"""


def test_progress_and_request_task_through_the_adapter():
    """A guest's ntx.request_task starts an ad hoc task (a dynamic user running its `report` call) and
    its ntx.progress becomes a `plugin` event of the change stream, with its scope, value and fields,
    on both backends."""
    for aot in (False, True):
        with tempfile.TemporaryDirectory() as tmp:
            if aot:
                src, file, kind = os.path.join(WASM, "aot", "ntx_spawner.so"), "ntx_spawner.so", ""
            else:
                src, file, kind = os.path.join(WASM, "spawner.wasm"), "spawner.wasm", "kind: wasm"
            with open(src, "rb") as f:
                files = {file: f.read()}
            run, report = run_script(tmp, SPAWNER.format(kind=kind, entry=file), "--workbook-stream", files=files)
            s = scenario(report, "s")
            spawn = action(s, "spawn")
            check(spawn["ok"] == 6 and spawn["errors"] == 0, f"aot={aot} spawn: {spawn}")
            adhoc = action(s, "spawner.report (ad hoc)")
            check(adhoc["ok"] == 6 and adhoc["errors"] == 0 and adhoc["origin"] == "dynamic", f"aot={aot} {adhoc}")
            check(s["dynamic_tasks"]["requested"] == 6 and s["dynamic_tasks"]["ended"] == 6, f"{s['dynamic_tasks']}")
            with open(os.path.join(tmp, "out", "workbook-stream.jsonl")) as f:
                events = [json.loads(line) for line in f]
            plugin = [ev for ev in events if ev["kind"] == "plugin"]
            check(len(plugin) == 6, f"aot={aot}: {len(plugin)} progress events, want one per ad hoc task")
            for ev in plugin:
                check(ev["scope"] == "action" and ev["progress"] == 0.5 and ev["fields"] == {"stage": "wasm"}, ev)


def test_the_wasm_echo_example_runs_with_zero_errors():
    for aot in (False, True):
        echo_scenario(aot)


def test_the_wasm_echo_over_tls():
    """The guest asks for TLS (connect's ca-file): the host's handshake, verification against the CA
    file and the IP SAN, then the same echo, on both backends; every connection the server saw was TLS."""
    with tempfile.TemporaryDirectory() as certs:
        make_certificate(certs)
        for aot in (False, True):
            echo_scenario(aot, tls=certs)


def echo_scenario(aot, tls=None):
    res_dir = os.path.join(SOURCE, "examples", "wasm-echo", "res_dir")
    pems = (os.path.join(tls, "cert.pem"), os.path.join(tls, "key.pem")) if tls else None
    with EchoServer(tls=pems) as echo, tempfile.TemporaryDirectory() as tmp:
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
        if tls:
            port = '      port: "{{resource.port}}"\n'
            check(script.count(port) == 1, script)
            script = script.replace(port, port + f'      ca-file: "{pems[0]}"\n')
        _, report = run_script(tmp, script, files=files)
    scen = scenario(report, "echo-lines")
    for name, count in (("open", 50), ("say", 150), ("bye", 50)):
        a = action(scen, name)
        check(a["count"] == count and a["ok"] == count and a["errors"] == 0 and a["timeouts"] == 0, f"aot={aot} {name}: {a}")
    check(echo.bytes > 0, "the echo server saw no bytes")
    if tls:
        check(echo.connections >= 50 and echo.handshakes == echo.connections, f"{echo.handshakes} TLS of {echo.connections}")


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
    main([test_plugins_info_shows_the_backend, test_a_wasm_module_on_the_plugin_path_is_listed_and_found_by_name,
          test_the_wasm_echo_example_runs_with_zero_errors, test_the_wasm_echo_over_tls, test_progress_and_request_task_through_the_adapter,
          test_the_wasm_echo_conforms, test_validate_reports_the_wasm_plugins_param_problems,
          test_bad_modules_are_refused_at_load, test_a_script_with_a_bad_module_does_not_start,
          test_kind_wasm_needs_a_wasm_entry_and_wasi_component_is_refused,
          test_misbehaving_actions_are_counted_and_the_run_goes_on])
