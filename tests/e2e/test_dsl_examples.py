"""The DSL's family examples (examples/conditions, loops, parallel, graph-workflow, save-scopes,
open-model), each run as shipped against the bundled target server (only its port moves), with the
report and the server's own counters saying the constructs did what their comments say."""
import glob
import json
import os
import shutil
import tempfile

from harness import SOURCE, Target, action, check, free_port, main, read_report, run_ntx, scenario


def run_example(name, tmp, port):
    res = os.path.join(tmp, name)
    shutil.copytree(os.path.join(SOURCE, "examples", name), res)
    path = os.path.join(res, "script.yaml")
    with open(path) as f:
        text = f.read()
    check("127.0.0.1:20000" in text, f"{name} targets 127.0.0.1:20000")
    with open(path, "w") as f:
        f.write(text.replace("127.0.0.1:20000", f"127.0.0.1:{port}"))
    out = os.path.join(tmp, name + "-out")
    rc, _, stderr = run_ntx("run", res, "--out", out, "--quiet")
    check(rc == 0, f"{name}: ntx run exited {rc}: {stderr}")
    return read_report(out), out


def paths(target):
    return target.stats()["by_path"]


def test_conditions():
    port = free_port()
    with Target(port, port) as target, tempfile.TemporaryDirectory() as tmp:
        r, _ = run_example("conditions", tmp, port)
        s = scenario(r, "conditions")
        check(s["exits"]["error_out"] == 0 and action(s, "accepted")["ok"] == 20, f"{s['exits']} {s['actions']}")
        p = paths(target)
        check(p.get("/status/201") == 20 and p.get("/status/202") == 10 and p.get("/status/203") == 10, f"paths {p}")


def test_loops():
    port = free_port()
    with Target(port, port) as target, tempfile.TemporaryDirectory() as tmp:
        r, _ = run_example("loops", tmp, port)
        s = scenario(r, "loops")
        check(action(s, "fetch")["ok"] == 15 and action(s, "poll")["ok"] == 5, f"{s['actions']}")
        check(action(s, "partial")["ok"] == 20, f"while true stops at max 4: {action(s, 'partial')}")
        p = paths(target)
        check(all(p.get(f"/status/{c}") == 5 for c in ("201", "202", "204")), f"one GET per item and user: {p}")
        check(p.get("/asset") == 15 and p.get("/status/206") == 20, f"paths {p}")


def test_parallel():
    port = free_port()
    with Target(port, port) as target, tempfile.TemporaryDirectory() as tmp:
        r, _ = run_example("parallel", tmp, port)
        s = scenario(r, "parallel")
        for name in ("profile", "cart", "offers", "checkout"):
            check(action(s, name)["ok"] == 10, f"{name}: {action(s, name)}")
        check(s["tasks"] == 10 and s["users"]["completed"] == 10, f"branches are not tasks: {s['tasks']}")
        check(target.stats()["by_method"].get("POST") == 10, f"checkout POSTs {target.stats()['by_method']}")
        # The POST carried the asset a branch saved (the server keeps what was posted).
        check(action(s, "checkout")["bytes_sent"] > 10 * 100, f"checkout sent {action(s, 'checkout')['bytes_sent']}")


def test_graph_workflow():
    port = free_port()
    with Target(port, port) as target, tempfile.TemporaryDirectory() as tmp:
        r, _ = run_example("graph-workflow", tmp, port)
        s = scenario(r, "graph")
        # A ref node with its own controls.exec runs a copy of the action named <workflow>.<node>.
        check(action(s, "tri-phase-graph.probe")["ok"] == 10, f"{s['actions']}")
        missing = action(s, "tri-phase-graph.missing")
        check(missing["errors"] == 5 and missing["status_classes"] == {"4xx": 5}, f"the 404s are counted: {missing}")
        check(action(s, "push-post")["ok"] == 5 and action(s, "purge-delete")["ok"] == 5, f"{s['actions']}")
        check(s["exits"]["closing"] == 5 and s["exits"]["error_out"] == 0, f"odd users end through closing: {s['exits']}")
        m = target.stats()["by_method"]
        check(m.get("POST") == 5 and m.get("DELETE") == 5 and paths(target).get("/status/404") == 5, f"{m}")


def test_save_scopes():
    port = free_port()
    with Target(port, port) as target, tempfile.TemporaryDirectory() as tmp:
        r, out = run_example("save-scopes", tmp, port)
        s = scenario(r, "visits")
        check(action(s, "login")["ok"] == 5, f"one login per user: {action(s, 'login')}")
        check(action(s, "revisit")["ok"] == s["tasks"] - 5 and s["tasks"] > 5, f"{s['tasks']} tasks {s['actions']}")
        got, used = action(s, "get-token")["ok"], action(s, "use-token")["ok"]
        check(got >= 1 and got + used == s["tasks"] and used > got, f"token got {got} used {used}")
        files = glob.glob(os.path.join(out, "receipts", "*-receipt.json"))
        check(len(files) == 5 and r["persist"]["files"] == 5 and r["persist"]["errors"] == 0, f"{files} {r['persist']}")
        with open(files[0]) as f:
            check(json.load(f)["status"] == "200", "a receipt holds the saved result")
        check(paths(target).get("/status/208") == s["tasks"] - 5, f"revisits reached the server: {paths(target)}")


def test_open_model():
    port = free_port()
    with Target(port, port) as target, tempfile.TemporaryDirectory() as tmp:
        r, _ = run_example("open-model", tmp, port)
        s = scenario(r, "arrivals")
        a = s["arrivals"]
        check(a["planned"] == 120, f"20/s rising to 60/s over 3 s plans 120 arrivals: {a}")
        check(a["started"] + a["dropped"] == a["planned"] and a["dropped"] == 0, f"{a}")
        check(action(s, "asset")["ok"] == a["started"] and s["model"] == "open", f"{s['actions']}")
        c = scenario(r, "capped")["arrivals"]
        check(c["planned"] == 100 and c["dropped"] > 50 and c["started"] + c["dropped"] == 100, f"capped {c}")
        check(paths(target).get("/asset") == a["started"] + c["started"], f"server {paths(target)}")


if __name__ == "__main__":
    main([test_conditions, test_loops, test_parallel, test_graph_workflow, test_save_scopes, test_open_model])
