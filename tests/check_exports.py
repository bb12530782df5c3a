"""Fails when a shared object exports a dynamic symbol outside what it may export.

usage: check_exports.py libntx ABI_NAMESPACE LIBNTX.so
       check_exports.py plugin PLUGIN.so...

libntx may export its public C++ API (ntx::<ABI_NAMESPACE>::, mangled `N3ntx<len><ns>`, with the RTTI,
vtables, thunks and inline statics of its classes) and the C ABI's host-side functions (ntx_host_*);
a plugin exports exactly ntx_plugin_entry. Anything else (Boost, spdlog, libstdc++ template instances)
would be shared with every other copy of it in the host process.
"""
import re
import subprocess
import sys


def exported(path):
    out = subprocess.run(["nm", "-D", "--defined-only", path], capture_output=True, text=True, check=True).stdout
    return sorted({line.split()[-1] for line in out.splitlines() if line.strip()})


def demangle(names):
    if not names:
        return []
    return subprocess.run(["c++filt"], input="\n".join(names), capture_output=True, text=True).stdout.splitlines()


def report(path, bad, total):
    if not bad:
        print(f"{path}: {total} exports, all allowed")
        return True
    print(f"{path}: {len(bad)} of {total} exports are not allowed:")
    for mangled, plain in zip(bad, demangle(bad)):
        print(f"  {mangled}\n      {plain[:200]}")
    return False


def check_libntx(namespace, path):
    ns = f"3ntx{len(namespace)}{namespace}"
    allowed = re.compile(rf"^(_Z(N[KRO]*|T[ISVT]N|Th[^_]*_N|Tv[^_]*_N|ZN|GVZN){ns}|ntx_host_)")
    syms = exported(path)
    # Linker-made markers (no code or data of ntx's) are not part of any API but always present.
    syms = [s for s in syms if not re.match(r"^(_init|_fini|_edata|_end|__bss_start)$", s) and "@" not in s]
    return report(path, [s for s in syms if not allowed.match(s)], len(syms))


def check_plugin(path):
    syms = exported(path)
    return report(path, [s for s in syms if s != "ntx_plugin_entry"], len(syms)) and syms == ["ntx_plugin_entry"]


def main(argv):
    if len(argv) >= 3 and argv[0] == "libntx":
        return check_libntx(argv[1], argv[2])
    if len(argv) >= 2 and argv[0] == "plugin":
        return all([check_plugin(p) for p in argv[1:]])
    print(__doc__, file=sys.stderr)
    return False


if __name__ == "__main__":
    sys.exit(0 if main(sys.argv[1:]) else 1)
