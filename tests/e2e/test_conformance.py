"""ntx-conformance: every shipped plugin and the C99 probe conform (also over the network, against real
servers on 127.0.0.1), and a plugin that breaks the ABI's rules fails, each rule with its own finding."""
import glob
import os
import subprocess
import tempfile

from echo_server import EchoServer
from harness import BUILD, NTX, TEST_PLUGINS, Target, check, free_port, main

KIT = os.path.join(os.path.dirname(NTX), "ntx-conformance")


def kit(*args, timeout=240):
    p = subprocess.run([KIT, *args], capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def summary(stdout):
    return stdout.strip().splitlines()[-1]


def test_every_shipped_plugin_conforms():
    # A glob: a protocol added under protocols/ is covered without editing this test.
    shipped = sorted(glob.glob(os.path.join(BUILD, "lib", "ntx", "plugins", "ntx_*.so")))
    check(any(p.endswith("ntx_http.so") for p in shipped), f"shipped plugins: {shipped}")
    for path in shipped:
        rc, out, err = kit(path)
        check(rc == 0, f"{path}: exit {rc}\n{out}{err}")
        check("FAIL" not in out and summary(out).startswith("CONFORMS"), f"{path}:\n{out}")
        check("PASS  entry: honours the plugin table's size" in out, out)
        # Both shipped plugins check params at planning (ABI 1.2): pure, before init.
        check("validate_action before init, twice, without parameters" in out and
              "validate_action: the plugin has none" not in out, out)


def test_http_conforms_against_a_real_server():
    port = free_port()
    with Target(port, port):
        rc, out, err = kit("http", "--with", f"get.url=http://127.0.0.1:{port}/asset",
                           "--with", f"delete.url=http://127.0.0.1:{port}/asset")
    check(rc == 0, f"exit {rc}\n{out}{err}")
    check("PASS  get: with your parameters" in out and "action 1 completed; action 2 completed" in out, out)
    check("PASS  delete: with your parameters" in out, out)
    # ABI 1.5: every connect denied by policy: the action ends as NTX_E_DENIED (counted `denied`).
    check("PASS  get: with your parameters, the network policy denies the address (ABI 1.5)" in out, out)
    check("PASS  get: validate_action before init, twice, your parameters pass it" in out, out)


def test_probe_conforms_without_and_with_network():
    probe = os.path.join(TEST_PLUGINS, "ntx_probe.so")
    # `late` misbehaves on purpose (the host's stale-completion test): the kit must catch it.
    rc, out, _ = kit(probe, "--only", "late")
    check(rc == 1 and "FAIL  late: the host ends it first" in out, f"late must fail, exit {rc}\n{out}")
    check("already ended (ended by the host: NTX_E_TIMEOUT; its on_error had returned)" in out, out)
    with EchoServer() as echo:
        rc, out, err = kit(probe, "--skip", "late", "--with", "raw.host=127.0.0.1", "--with", f"raw.port={echo.port}",
                           "--with", "raw.data=ping", "--with", "raw.expect=ping")
    check(rc == 0, f"exit {rc}\n{out}{err}")
    check("PASS  raw: with your parameters" in out and "action 1 completed; action 2 completed" in out, out)
    check("PASS  raw: with your parameters, the network policy denies" in out and "NTX_E_DENIED" in out, out)
    check("SKIP  late: not selected" in out, out)


def test_params_file_and_bad_arguments():
    with EchoServer() as echo, tempfile.TemporaryDirectory() as tmp:
        params = os.path.join(tmp, "probe.params")
        with open(params, "w") as f:
            f.write(f"# probe's raw against an echo server\nraw.host = 127.0.0.1\nraw.port = {echo.port}\n"
                    "raw.data = hello\nraw.expect = hel\n")
        rc, out, _ = kit(os.path.join(TEST_PLUGINS, "ntx_probe.so"), "--only", "raw", "--params", params)
    check(rc == 0 and "PASS  raw: with your parameters (host=127.0.0.1" in out, f"exit {rc}\n{out}")
    rc, _, err = kit(os.path.join(TEST_PLUGINS, "ntx_probe.so"), "--with", "nodot=1")
    check(rc == 2 and "expected CALL.KEY=VALUE" in err, f"exit {rc} {err}")
    rc, _, err = kit(os.path.join(TEST_PLUGINS, "ntx_nothing_here.so"))
    check(rc == 2 and "no such file" in err, f"exit {rc} {err}")
    rc, _, err = kit("no-such-plugin-name")
    check(rc == 2 and "no plugin named 'no-such-plugin-name'" in err, f"exit {rc} {err}")


def test_kit_refuses_files_the_loader_refuses():
    for name, why in [("ntx_not_a_plugin.so", "does not export 'ntx_plugin_entry'"),
                      ("ntx_probe_abi2.so", "was built for plugin ABI 2.")]:
        rc, out, _ = kit(os.path.join(TEST_PLUGINS, name))
        check(rc == 1 and "FAIL  load: the host's loader refuses it" in out and why in out, f"{name}: exit {rc}\n{out}")


def test_misbehaving_plugin_fails_each_rule():
    bad = os.path.join(TEST_PLUGINS, "ntx_misbehaving.so")
    rc, out, _ = kit(bad)
    check(rc == 1 and summary(out).startswith("FAILED"), f"exit {rc}\n{out}")
    expected = [
        ("FAIL  entry: honours the plugin table's size", "wrote past them"),
        ("FAIL  twice: no parameters", "action 1 (twice) ended 2 times"),
        ("FAIL  twice: validate_action before init", "returned NTX_OK"),
        ("FAIL  late: the host ends it first (on_error NTX_E_TIMEOUT)", "its on_error had returned"),
        # A signal, or an exit status where a sanitizer caught the crash first (the asan build).
        ("FAIL  crash: no parameters", "in run_action(crash): errors must come back as status codes"),
        ("FAIL  bad-code: no parameters", "action_fail(bad-code) with code 3"),
        ("FAIL  in-release: no parameters", "action_complete called inside release"),
        ("FAIL  bad-alpn: no parameters", "tls_alpn is not an ALPN list in wire format"),
        ("FAIL  bad-alpn: no parameters", "result.protocol has a NULL pointer with a length"),
    ]
    for title, finding in expected:
        check(title in out and finding in out, f"missing '{title}' / '{finding}' in:\n{out}")
    # One capability at a time: each misbehaviour alone makes the kit fail.
    for call in ["twice", "late", "crash", "bad-code", "in-release", "bad-alpn"]:
        rc, out, _ = kit(bad, "--only", call)
        fails = [l for l in out.splitlines() if l.startswith("FAIL  ") and not l.startswith("FAIL  entry")]
        check(rc == 1 and fails and all(l.startswith(f"FAIL  {call}:") for l in fails), f"{call}: exit {rc}\n{out}")


if __name__ == "__main__":
    main([test_every_shipped_plugin_conforms, test_http_conforms_against_a_real_server,
          test_probe_conforms_without_and_with_network, test_params_file_and_bad_arguments,
          test_kit_refuses_files_the_loader_refuses, test_misbehaving_plugin_fails_each_rule])
