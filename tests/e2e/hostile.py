"""The hostile plugin (hostile_plugin.cpp), compiled for the tests that need a real plugin breaking the
contract: with the system's c++ against this tree's plugin_abi.h, into a temporary folder."""
import os
import subprocess
import tempfile

from harness import SOURCE

_built = {}


def build_hostile(out_dir=None):
    """Compiles tests/e2e/hostile_plugin.cpp into ntx_hostile.so; returns its path (once per process)."""
    if "so" in _built:
        return _built["so"]
    out_dir = out_dir or tempfile.mkdtemp(prefix="ntx-hostile-")
    so = os.path.join(out_dir, "ntx_hostile.so")
    src = os.path.join(SOURCE, "tests", "e2e", "hostile_plugin.cpp")
    subprocess.run(["c++", "-std=c++17", "-O1", "-shared", "-fPIC", "-pthread", "-fvisibility=hidden",
                    "-I", os.path.join(SOURCE, "libntx", "include"), "-o", so, src], check=True)
    _built["so"] = so
    return so


def hostile_component(so):
    return f"""  - name: hostile
    version: "1.0.0"
    entry: {so}
"""
