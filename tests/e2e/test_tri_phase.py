"""The bundled example end to end: 1000 users, 1000 ip:port pairs, GET -> POST -> DELETE, against the
real target server; report.json must agree with the server's own count."""
import os
import shutil
import tempfile

from harness import SOURCE, Target, action, check, main, read_report, run_ntx, scenario


def start_target_on_free_range():
    """The example's 1000 ports when free, else the first free block of 1000 above (another run may
    hold them); returns the target and its first port."""
    for base in range(20000, 30000, 1000):
        try:
            return Target(base, base + 999, threads=1), base
        except AssertionError as e:
            if "Address already in use" not in str(e):
                raise
    raise AssertionError("no free block of 1000 ports between 20000 and 30000")


def test_tri_phase_1000_users_match_server_counts():
    target, base = start_target_on_free_range()
    with target, tempfile.TemporaryDirectory() as tmp:
        # The bundled example as shipped; only its manifest moves when the ports are taken.
        example = os.path.join(tmp, "http-tri-phase")
        shutil.copytree(os.path.join(SOURCE, "examples", "http-tri-phase"), example)
        if base != 20000:
            with open(os.path.join(example, "resource.csv"), "w") as f:
                f.write("ip,port\n" + "".join(f"127.0.0.1,{p}\n" for p in range(base, base + 1000)))
        out = os.path.join(tmp, "out")
        rc, stdout, stderr = run_ntx("run", example, "--out", out)
        check(rc == 0, f"ntx run exited {rc}: {stderr}")
        report = read_report(out)
        s = scenario(report, "http-bulk")
        check(s["users"]["spawned"] == 1000, f"spawned {s['users']}")
        check(s["users"]["completed"] == 1000, f"completed {s['users']}")
        check(1 <= s["users"]["peak_online"] <= 1000, f"peak_online {s['users']}")
        check(all(n == 0 for n in s["exits"].values()) and s["task_retries"] == 0, f"exits {s['exits']}")
        names = [a["name"] for a in s["actions"]]
        check(names == ["probe-get", "push-post", "purge-delete"], f"actions {names}")
        for a in s["actions"]:
            check(a["count"] == 1000 and a["ok"] == 1000, f"{a['name']}: {a}")
            check(a["errors"] == 0 and a["timeouts"] == 0, f"{a['name']}: {a}")
            lat = a["latency_ms"]
            check(0 < lat["min"] <= lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["max"], f"latency {lat}")
            check(a["bytes_received"] > 0 and a["bytes_sent"] > 0, f"bytes {a}")
        check(action(s, "probe-get")["call"] == "get", "call name")
        totals = report["totals"]
        check(totals["actions"] == 3000 and totals["ok"] == 3000 and totals["errors"] == 0, f"totals {totals}")
        # The server's own ledger: every request ntx counted as ok arrived, and nothing else.
        stats = target.stats()
        check(stats["requests"] == totals["ok"], f"server saw {stats['requests']} requests, ntx counted {totals['ok']}")
        check(stats["by_method"]["GET"] == 1000, f"server GETs {stats['by_method']}")
        check(stats["by_method"]["POST"] == 1000, f"server POSTs {stats['by_method']}")
        check(stats["by_method"]["DELETE"] == 1000, f"server DELETEs {stats['by_method']}")
        # The host's own byte count covers at least what the plugin reported, on 1000 sockets.
        check(totals["sockets_opened"] == 1000, f"sockets {totals}")
        check(totals["socket_bytes_received"] >= sum(a["bytes_received"] for a in s["actions"]) > 0, f"bytes {totals}")
        # The server's byte count includes the /_stats query itself: a second query shows its size.
        query_bytes = target.stats()["bytes_received"] - stats["bytes_received"]
        check(totals["socket_bytes_sent"] == stats["bytes_received"] - query_bytes,
              f"ntx sent {totals['socket_bytes_sent']} bytes, the server received {stats['bytes_received']} - {query_bytes}")
        # Keep-alive: each user reuses one connection to its leased pair for all three requests.
        # (+1: the connection of this /_stats query itself)
        check(stats["connections"] == 1000 + 1, f"server accepted {stats['connections']} connections")
        # The POST carried the GET's body (save-as + template): 1000 bodies of the default size.
        check(stats["bytes_received"] >= 1000 * 512, f"server received {stats['bytes_received']} bytes")
        check("http-bulk" in stdout and "probe-get" in stdout, "end summary on stdout")


if __name__ == "__main__":
    main([test_tri_phase_1000_users_match_server_counts])
