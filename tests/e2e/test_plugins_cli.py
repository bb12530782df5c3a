"""`ntx plugins list` and `ntx plugins info`: the search path's plugins with name, version, capabilities,
ABI and file, refused files listed with the loader's error, and the exit codes."""
import json
import os
import shutil
import tempfile

import re as _re

from harness import BUILD, TEST_PLUGINS, check, main, run_ntx

# The ABI this build speaks, read from the one header plugins include.
with open(os.path.join(os.environ["NTX_SOURCE_DIR"], "libntx/include/ntx/plugin_abi.h")) as _h:
    _text = _h.read()
ABI = "{}.{}".format(_re.search(r"#define NTX_ABI_MAJOR (\d+)", _text).group(1),
                     _re.search(r"#define NTX_ABI_MINOR (\d+)", _text).group(1))
MINOR = ABI.split(".")[1]

HTTP = os.path.join(BUILD, "lib", "ntx", "plugins", "ntx_http.so")
HTTP_CAPS = ["get", "post", "put", "patch", "delete", "head"]


def listing(*args, env_path=None):
    old = os.environ.get("NTX_PLUGIN_PATH")
    if env_path is not None:
        os.environ["NTX_PLUGIN_PATH"] = env_path
    try:
        rc, out, err = run_ntx("plugins", "list", "--json", *args)
    finally:
        if env_path is not None:
            if old is None:
                del os.environ["NTX_PLUGIN_PATH"]
            else:
                os.environ["NTX_PLUGIN_PATH"] = old
    check(rc == 0, f"plugins list exit {rc}: {err}")
    return json.loads(out)


def by_path(doc):
    return {os.path.realpath(p["path"]): p for p in doc["plugins"]}


def test_list_finds_the_shipped_http_plugin():
    doc = listing()
    http = by_path(doc).get(os.path.realpath(HTTP))
    check(http is not None, f"http not listed: {doc}")
    check(http["loaded"] and http["name"] == "http" and http["abi"] == ABI, f"{http}")
    check(http["version_is_semver"] and http["capabilities"] == HTTP_CAPS, f"{http}")
    check(os.path.realpath(os.path.join(BUILD, "lib", "ntx", "plugins")) in map(os.path.realpath, doc["search_path"]), f"{doc['search_path']}")


def test_list_shows_refused_files_with_the_loaders_error():
    doc = listing("--plugin-path", TEST_PLUGINS)
    plugins = by_path(doc)
    check(doc["search_path"][0] == TEST_PLUGINS, f"--plugin-path comes first: {doc['search_path']}")
    probe = plugins[os.path.realpath(os.path.join(TEST_PLUGINS, "ntx_probe.so"))]
    check(probe["loaded"] and probe["name"] == "probe" and probe["version"] == "1.2.0", f"{probe}")
    check(probe["capabilities"] == ["raw", "sleep", "fail", "late", "flaky", "spawn"], f"{probe}")
    refused = {
        "ntx_not_a_plugin.so": "does not export 'ntx_plugin_entry'",
        "ntx_probe_abi2.so": f"was built for plugin ABI 2.{MINOR}, this host speaks ABI {ABI}",
        "ntx_probe_minor99.so": f"needs plugin ABI 1.99, newer than this host's {ABI}",
    }
    for file, why in refused.items():
        p = plugins[os.path.realpath(os.path.join(TEST_PLUGINS, file))]
        check(not p["loaded"] and why in p["error"], f"{file}: {p}")
    check(plugins[os.path.realpath(os.path.join(TEST_PLUGINS, "ntx_probe_abi2.so"))]["abi"] == f"2.{MINOR}", "declared ABI kept")
    # The listing went on past the refused files: http (later on the path) is there too.
    check(os.path.realpath(HTTP) in plugins, "http listed after the test plugins")


def test_list_text_and_environment_path():
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(os.path.join(TEST_PLUGINS, "ntx_probe.so"), os.path.join(tmp, "ntx_http.so"))
        doc = listing(env_path=tmp)
        check(doc["search_path"][0] == tmp, f"NTX_PLUGIN_PATH first: {doc['search_path']}")
        plugins = by_path(doc)
        # A probe copied as ntx_http.so shadows the shipped one for `entry: http`.
        check(not plugins[os.path.realpath(os.path.join(tmp, "ntx_http.so"))]["shadowed"], "first one wins")
        check(plugins[os.path.realpath(HTTP)]["shadowed"], "the shipped http is shadowed")
    rc, out, err = run_ntx("plugins", "list", "--plugin-path", TEST_PLUGINS)
    check(rc == 0, f"exit {rc}: {err}")
    lines = out.splitlines()
    check(any(l.split()[:3] == ["http", "0.2.3", ABI] and "get,post,put,patch,delete,head" in l and l.endswith(HTTP)
              for l in lines), out)
    check(any(l.split()[:3] == ["probe", "1.2.0", ABI] for l in lines), out)
    check(any("(refused)" in l and l.endswith("ntx_probe_abi2.so") for l in lines), out)
    check("    error: " in out and "does not export 'ntx_plugin_entry'" in out, out)


def test_info_by_name_and_path_with_exit_codes():
    rc, out, err = run_ntx("plugins", "info", "http")
    check(rc == 0, f"exit {rc}: {err}")
    check(f"path:          {HTTP}" in out and "name:          http" in out and "version:       0.2.3" in out, out)
    check(f"abi:           {ABI} (this host: {ABI})" in out and "capabilities:  get, post, put, patch, delete, head" in out, out)
    rc, out, _ = run_ntx("plugins", "info", os.path.join(TEST_PLUGINS, "ntx_probe.so"), "--json")
    info = json.loads(out)
    check(rc == 0 and info["loaded"] and info["name"] == "probe", f"exit {rc}: {info}")
    rc, out, _ = run_ntx("plugins", "info", os.path.join(TEST_PLUGINS, "ntx_probe_minor99.so"))
    check(rc == 3 and "refused by the loader" in out and "needs plugin ABI 1.99" in out, f"exit {rc}: {out}")
    rc, _, err = run_ntx("plugins", "info", "no-such-protocol")
    check(rc == 2 and "no plugin named 'no-such-protocol'" in err, f"exit {rc}: {err}")
    rc, _, err = run_ntx("plugins", "info")
    check(rc == 2 and "expected `plugins list` or `plugins info PATH|NAME`" in err, f"exit {rc}: {err}")
    rc, _, err = run_ntx("plugins", "frobnicate")
    check(rc == 2, f"exit {rc}: {err}")


if __name__ == "__main__":
    main([test_list_finds_the_shipped_http_plugin, test_list_shows_refused_files_with_the_loaders_error,
          test_list_text_and_environment_path, test_info_by_name_and_path_with_exit_codes])
