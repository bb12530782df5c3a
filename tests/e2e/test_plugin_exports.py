"""Shipped and test plugins export exactly one dynamic symbol: the ABI entry."""
import os
import subprocess

from harness import BUILD, TEST_PLUGINS, check, main


def exported(path):
    out = subprocess.run(["nm", "-D", "--defined-only", path], capture_output=True, text=True, check=True).stdout
    return sorted(line.split()[-1] for line in out.splitlines() if line.strip())


def test_http_plugin_exports_one_symbol():
    syms = exported(os.path.join(BUILD, "lib", "ntx", "plugins", "ntx_http.so"))
    check(syms == ["ntx_plugin_entry"], f"ntx_http.so exports {syms}")


def test_ftp_plugin_exports_one_symbol():
    # libcurl stays a dependency, not an export: nothing of it may leak into the plugin's symbols.
    syms = exported(os.path.join(BUILD, "lib", "ntx", "plugins", "ntx_ftp.so"))
    check(syms == ["ntx_plugin_entry"], f"ntx_ftp.so exports {syms}")


def test_c99_probe_plugin_exports_one_symbol():
    syms = exported(os.path.join(TEST_PLUGINS, "ntx_probe.so"))
    check(syms == ["ntx_plugin_entry"], f"ntx_probe.so exports {syms}")


if __name__ == "__main__":
    main([test_http_plugin_exports_one_symbol, test_ftp_plugin_exports_one_symbol, test_c99_probe_plugin_exports_one_symbol])
