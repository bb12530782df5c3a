"""The ftp plugin end to end against a real vsftpd on 127.0.0.1 (tests/e2e/ftp_server.py): several
users log in, upload, list, download and delete, in passive and active mode; each user runs all its
actions on one control connection; a wrong password, a missing file, a refused connection and a
server that never answers are each a counted outcome of their own kind, and the run goes on; bad
input is refused clearly. Counts are exact: report.json, the files on disk and vsftpd's own log must
agree."""
import contextlib
import os
import random
import re
import shutil
import socket
import tempfile

from ftp_server import FtpServer
from harness import SOURCE, action, check, main, read_report, run_ntx, scenario, write_res_dir

rng = random.Random(6)
SEED = bytes(rng.getrandbits(8) for _ in range(200_000))   # a file on the server every user downloads
PAYLOAD = bytes(rng.getrandbits(8) for _ in range(50_000))  # a local file every user uploads


def write_res(tmp, script, config="tick: 20ms\nlog:\n  level: debug\n", component_config="", files=None):
    return write_res_dir(tmp, script, {"config.yaml": config, "resource/config.yaml": component_config, **(files or {})})


def run(res, tmp):
    out = os.path.join(tmp, "out")
    rc, stdout, stderr = run_ntx("run", res, "--out", out, timeout=120)
    check(rc == 0, f"ntx run exited {rc}: {stderr[-3000:]}")
    return read_report(out), stdout, stderr


def reasons(stderr):
    """The plugin's failure reasons in a debug log."""
    return "\n".join(line for line in stderr.splitlines() if "ftp: " in line)[-3000:]


def check_all_ok(s, users, names, stderr=""):
    got = [a["name"] for a in s["actions"]]
    check(got == names, f"actions {got}")
    for a in s["actions"]:
        check(a["count"] == users and a["ok"] == users and a["errors"] == 0 and a["timeouts"] == 0,
              f"{a['name']}: {a}\n{reasons(stderr)}")
    check(s["users"]["completed"] == users, f"users {s['users']}")
    check(all(n == 0 for n in s["exits"].values()), f"exits {s['exits']}")


COMPONENT = """components:
  - name: ftp
    version: "0.1.0"
    entry: ftp
"""


def account(server, password=None):
    return (f'user: "{server.user}", password: "{server.password if password is None else password}"')


def test_users_login_upload_list_download_delete_on_one_connection_each():
    users = 6
    with FtpServer() as server, tempfile.TemporaryDirectory() as tmp:
        server.put("seed/data.bin", SEED)
        acct = account(server)
        base = server.url()
        script = COMPONENT + f"""
workflows:
  transfer:
    timeout: 30s
    steps:
      - ref: login
      - ref: put-note
      - ref: put-file
      - ref: list-seed
      - log: "LISTED user={{{{env.user_id}}}} entries={{{{ls.entries}}}} names={{{{ls.listing}}}}"
        level: warn
      - ref: get-seed
      - log: "GOT user={{{{env.user_id}}}} bytes={{{{dl.bytes}}}} truncated={{{{dl.body_truncated}}}} connects={{{{dl.connects}}}}"
        level: warn
      - ref: get-own
      - ref: del-note
actions:
  login: {{component: ftp, call: login, with: {{url: "{base}", {acct}}}, timeout: 5s}}
  put-note:
    component: ftp
    call: upload
    with: {{url: "{base}notes/{{{{env.user_id}}}}.txt", {acct}, body: "note from user {{{{env.user_id}}}}", create-dirs: "true"}}
    timeout: 5s
  put-file:
    component: ftp
    call: upload
    with: {{url: "{base}files/{{{{env.user_id}}}}.bin", {acct}, file: resource/payload.bin, create-dirs: "true"}}
    timeout: 5s
  list-seed:
    component: ftp
    call: list
    with: {{url: "{base}seed/", {acct}, names-only: "true"}}
    save-as: ls
    timeout: 5s
  get-seed: {{component: ftp, call: download, with: {{url: "{base}seed/data.bin", {acct}}}, save-as: dl, timeout: 5s}}
  get-own: {{component: ftp, call: download, with: {{url: "{base}files/{{{{env.user_id}}}}.bin", {acct}}}, timeout: 5s}}
  del-note: {{component: ftp, call: delete, with: {{url: "{base}notes/{{{{env.user_id}}}}.txt", {acct}}}, timeout: 5s}}
load:
  scenarios:
    - {{name: transfer, workflow: transfer, user-count: {users}, spawn-rate: 50/s}}
"""
        res = write_res(tmp, script, files={"resource/payload.bin": PAYLOAD})
        connects_before = server.count(r"CONNECT: Client")
        report, stdout, stderr = run(res, tmp)
        s = scenario(report, "transfer")
        check_all_ok(s, users, ["login", "put-note", "put-file", "list-seed", "get-seed", "get-own", "del-note"], stderr)

        # The files on disk: every user's upload arrived byte for byte; every note was deleted.
        files = sorted(os.listdir(server.path("files")))
        check(len(files) == users, f"uploaded files {files}")
        ids = [f[:-len(".bin")] for f in files]
        for f in files:
            with open(server.path(os.path.join("files", f)), "rb") as fh:
                check(fh.read() == PAYLOAD, f"files/{f} differs from the payload sent")
        check(os.listdir(server.path("notes")) == [], f"notes left: {os.listdir(server.path('notes'))}")
        check(server.count(r'OK UPLOAD: .*"/notes/') == users, "vsftpd saw every note upload")
        check(server.count(r'OK DELETE: .*"/notes/') == users, "vsftpd saw every note deleted")

        # The report's byte counts are exact.
        notes = sum(len(f"note from user {i}") for i in ids)
        check(action(s, "put-note")["bytes_sent"] == notes, f"put-note {action(s, 'put-note')}")
        check(action(s, "put-file")["bytes_sent"] == users * len(PAYLOAD), f"put-file {action(s, 'put-file')}")
        check(action(s, "get-seed")["bytes_received"] == users * len(SEED), f"get-seed {action(s, 'get-seed')}")
        check(action(s, "get-own")["bytes_received"] == users * len(PAYLOAD), f"get-own {action(s, 'get-own')}")
        # A listing is an ASCII transfer: curl hands it over with LF line ends (vsftpd sends CRLF).
        check(action(s, "list-seed")["bytes_received"] == users * len(b"data.bin\n"), f"list {action(s, 'list-seed')}")

        # libcurl's sockets are not the host's: the plugin reports their bytes (ABI 1.6), so the run's
        # socket totals hold every data byte plus the control channel's commands and replies (a banner,
        # USER/PASS, EPSV, RETR/STOR... per transfer: more than 100 bytes per user each way, under 2 kB
        # per action), and each action counts as `ftp`.
        data_sent = notes + users * len(PAYLOAD)
        data_received = users * (len(SEED) + len(PAYLOAD) + len(b"data.bin\n"))
        totals = report["totals"]
        check(data_sent + users * 100 < totals["socket_bytes_sent"] < data_sent + users * 7 * 2000,
              f"socket_bytes_sent {totals['socket_bytes_sent']}, data {data_sent}")
        check(data_received + users * 100 < totals["socket_bytes_received"] < data_received + users * 7 * 2000,
              f"socket_bytes_received {totals['socket_bytes_received']}, data {data_received}")
        print(f"socket totals: sent {totals['socket_bytes_sent']} (data {data_sent}), "
              f"received {totals['socket_bytes_received']} (data {data_received})")
        for name in ("login", "put-note", "get-seed", "del-note"):
            check(action(s, name).get("protocols") == {"ftp": users}, f"{name} {action(s, name)}")

        # save-as results: the listing and the download's byte count, on a reused connection.
        check(stderr.count("entries=1 names=data.bin") == users, f"listing results: {stderr[-2000:]}")
        # connects: the data connection only (the control connection was the user's, reused).
        check(stderr.count(f"bytes={len(SEED)} truncated=false connects=1") == users, "download results: " + "".join(l for l in stderr.splitlines(True) if "GOT" in l))

        # One control connection and one login per user carried all seven actions (passive mode).
        check(server.count(r"CONNECT: Client") - connects_before == users,
              f"{server.count(r'CONNECT: Client') - connects_before} connections for {users} users")
        check(server.count(r"OK LOGIN") == users, f"{server.count(r'OK LOGIN')} logins")
        check(server.count(r'"EPSV"') == users * 5 and server.count(r'"(PORT|EPRT) ') == 0,
              "passive mode: one EPSV per data transfer, no PORT/EPRT")
        # The password never shows (debug logging is on).
        for text in (stdout, stderr, open(os.path.join(tmp, "out", "report.json")).read()):
            check(server.password not in text, "the password appears in ntx's output")


def test_users_creating_one_directory_at_once_all_upload():
    # All users start at once and create the same directories: a MKD that loses the race must not
    # fail the upload.
    users = 10
    with FtpServer() as server, tempfile.TemporaryDirectory() as tmp:
        script = COMPONENT + f"""
workflows:
  w: {{steps: [{{ref: put}}]}}
actions:
  put:
    component: ftp
    call: upload
    with: {{url: "{server.url()}a/b/c/{{{{env.user_id}}}}.txt", {account(server)}, body: "x{{{{env.user_id}}}}", create-dirs: "true"}}
    timeout: 5s
load:
  scenarios:
    - {{name: mkdirs, workflow: w, user-count: {users}}}
"""
        report, _, stderr = run(write_res(tmp, script), tmp)
        check_all_ok(scenario(report, "mkdirs"), users, ["put"], stderr)
        check(len(os.listdir(server.path("a/b/c"))) == users, f"files {os.listdir(server.path('a/b/c'))}")


def test_active_mode():
    users = 3
    with FtpServer() as server, tempfile.TemporaryDirectory() as tmp:
        server.put("seed/data.bin", SEED)
        acct = account(server)
        base = server.url()
        script = COMPONENT + f"""
workflows:
  active:
    timeout: 30s
    steps: [{{ref: put}}, {{ref: get}}, {{ref: ls}}, {{ref: get-seed}}]
actions:
  put: {{component: ftp, call: upload, with: {{url: "{base}a-{{{{env.user_id}}}}.bin", {acct}, file: resource/payload.bin}}, timeout: 5s}}
  get: {{component: ftp, call: download, with: {{url: "{base}a-{{{{env.user_id}}}}.bin", {acct}}}, timeout: 5s}}
  ls: {{component: ftp, call: list, with: {{url: "{base}", {acct}}}, timeout: 5s}}
  get-seed: {{component: ftp, call: download, with: {{url: "{base}seed/data.bin", {acct}, mode: passive}}, timeout: 5s}}
load:
  scenarios:
    - {{name: active, workflow: active, user-count: {users}}}
"""
        # The component's default mode is active; get-seed's `mode` param overrides it.
        res = write_res(tmp, script, component_config="ftp:\n  mode: active\n", files={"resource/payload.bin": PAYLOAD})
        report, _, stderr = run(res, tmp)
        s = scenario(report, "active")
        check_all_ok(s, users, ["put", "get", "ls", "get-seed"], stderr)
        check(action(s, "put")["bytes_sent"] == users * len(PAYLOAD), "active upload bytes")
        check(action(s, "get")["bytes_received"] == users * len(PAYLOAD), "active download bytes")
        check(action(s, "get-seed")["bytes_received"] == users * len(SEED), "passive download bytes")
        uploaded = [f for f in os.listdir(server.root) if f.startswith("a-")]
        check(len(uploaded) == users, f"uploads {uploaded}")
        for f in uploaded:
            with open(server.path(f), "rb") as fh:
                check(fh.read() == PAYLOAD, f"{f} differs")
        # vsftpd saw the client open a port for the three active transfers of each user, and EPSV
        # only for the passive one.
        active = server.count(r'"(EPRT|PORT) ')
        check(active == users * 3, f"{active} PORT/EPRT commands, expected {users * 3}")
        check(server.count(r'"EPSV"') == users, f"{server.count(chr(34) + 'EPSV')} EPSV commands, expected {users}")


def test_wrong_password_is_a_counted_login_error_and_the_run_goes_on():
    wrong = "not-the-password-4711"
    with FtpServer() as server, tempfile.TemporaryDirectory() as tmp:
        base = server.url()
        script = COMPONENT + f"""
workflows:
  bad: {{steps: [{{ref: bad-login}}, {{ref: bad-list}}], on-error: [{{goto: error_out}}]}}
  good: {{steps: [{{ref: good-login}}, {{ref: good-list}}]}}
actions:
  bad-login: {{component: ftp, call: login, with: {{url: "{base}", {account(server, wrong)}}}, timeout: 10s}}
  bad-list: {{component: ftp, call: list, with: {{url: "{base}", {account(server, wrong)}}}, timeout: 10s}}
  good-login: {{component: ftp, call: login, with: {{url: "{base}", {account(server)}}}, timeout: 10s}}
  good-list: {{component: ftp, call: list, with: {{url: "{base}", {account(server)}}}, timeout: 10s}}
load:
  scenarios:
    - {{name: bad, workflow: bad, user-count: 3}}
    - {{name: good, workflow: good, user-count: 3}}
"""
        report, stdout, stderr = run(write_res(tmp, script), tmp)
        bad = scenario(report, "bad")
        login = action(bad, "bad-login")
        check(login["count"] == 3 and login["ok"] == 0 and login["errors"] == 3, f"bad-login {login}")
        check(login["errors_by_kind"] == {"denied": 3}, f"bad-login kinds {login['errors_by_kind']}")
        check(action(bad, "bad-list")["count"] == 0, "the task ended at the failed login")
        check(bad["exits"]["error_out"] == 3, f"exits {bad['exits']}")
        check_all_ok(scenario(report, "good"), 3, ["good-login", "good-list"], stderr)
        check(server.count(r"FAIL LOGIN") == 3 and server.count(r"OK LOGIN") == 3, "vsftpd's login ledger")
        # The failure reason names the user and the refusal, never the password (debug logging is on).
        check("refused" in stderr.lower() or "denied" in stderr.lower(), f"no reason logged: {stderr[-2000:]}")
        check(f"as '{server.user}'" in stderr, f"the reason names the user: {stderr[-2000:]}")
        for text in (stdout, stderr):
            check(wrong not in text and server.password not in text, "a password appears in ntx's output")


def test_missing_file_is_an_error_of_its_own_kind():
    with FtpServer() as server, tempfile.TemporaryDirectory() as tmp:
        base = server.url()
        acct = account(server)
        script = COMPONENT + f"""
workflows:
  dl: {{steps: [{{ref: get-missing}}]}}
  rm: {{steps: [{{ref: delete-missing}}]}}
  dir: {{steps: [{{ref: get-in-missing-dir}}]}}
actions:
  get-missing: {{component: ftp, call: download, with: {{url: "{base}no-such-file.bin", {acct}}}, timeout: 5s}}
  delete-missing: {{component: ftp, call: delete, with: {{url: "{base}no-such-file.bin", {acct}}}, timeout: 5s}}
  get-in-missing-dir: {{component: ftp, call: download, with: {{url: "{base}no-dir/x.bin", {acct}}}, timeout: 5s}}
load:
  scenarios:
    - {{name: dl, workflow: dl, user-count: 3}}
    - {{name: rm, workflow: rm, user-count: 3}}
    - {{name: dir, workflow: dir, user-count: 2}}
"""
        report, _, stderr = run(write_res(tmp, script), tmp)
        for name, act, users in (("dl", "get-missing", 3), ("rm", "delete-missing", 3), ("dir", "get-in-missing-dir", 2)):
            a = action(scenario(report, name), act)
            check(a["count"] == users and a["errors"] == users and a["ok"] == 0, f"{act}: {a}")
            check(a["errors_by_kind"] == {"status": users}, f"{act} kinds {a['errors_by_kind']}")
        check("[last reply 550]" in stderr, f"the reason carries the 550: {stderr[-2000:]}")
        check(server.count(r'"DELE ') == 0, "no DELE is sent for a file that is not there")


def test_max_body_bytes_limits_a_listing_and_truncates_a_kept_body():
    with FtpServer() as server, tempfile.TemporaryDirectory() as tmp:
        server.put("seed/data.bin", SEED)
        server.put("seed/another-file-with-a-long-name.bin", b"x")
        acct = account(server)
        script = COMPONENT + f"""
workflows:
  ls: {{steps: [{{ref: ls}}]}}
  get: {{steps: [{{ref: get}}, {{log: "KEPT bytes={{{{dl.bytes}}}} truncated={{{{dl.body_truncated}}}}", level: warn}}]}}
actions:
  ls: {{component: ftp, call: list, with: {{url: "{server.url('seed/')}", {acct}, names-only: "true"}}, timeout: 5s}}
  get: {{component: ftp, call: download, with: {{url: "{server.url('seed/data.bin')}", {acct}}}, save-as: dl, timeout: 5s}}
load:
  scenarios:
    - {{name: ls, workflow: ls, user-count: 2}}
    - {{name: get, workflow: get, user-count: 2}}
"""
        # 20 bytes: less than the two names, far less than the file.
        res = write_res(tmp, script, component_config="ftp:\n  max-body-bytes: 20\n")
        report, _, stderr = run(res, tmp)
        ls = action(scenario(report, "ls"), "ls")
        check(ls["count"] == 2 and ls["errors_by_kind"] == {"limit": 2}, f"ls {ls}")
        get = action(scenario(report, "get"), "get")
        check(get["count"] == 2 and get["ok"] == 2, f"get {get}")
        check(get["bytes_received"] == 2 * len(SEED), f"the whole file is still counted: {get}")
        check(stderr.count(f"KEPT bytes={len(SEED)} truncated=true") == 2, f"results: {stderr[-1500:]}")


def test_refused_connection_is_a_counted_connect_error():
    server = FtpServer()
    port = server.port
    server.cleanup()  # nothing listens on the port any more
    with tempfile.TemporaryDirectory() as tmp:
        script = COMPONENT + f"""
workflows:
  w: {{steps: [{{ref: login}}, {{ref: ls}}]}}
actions:
  login: {{component: ftp, call: login, with: {{url: "ftp://127.0.0.1:{port}/", user: u, password: p}}, timeout: 5s}}
  ls: {{component: ftp, call: list, with: {{url: "ftp://127.0.0.1:{port}/", user: u, password: p}}, timeout: 5s}}
load:
  scenarios:
    - {{name: refused, workflow: w, user-count: 4}}
"""
        report, _, _ = run(write_res(tmp, script), tmp)
        s = scenario(report, "refused")
        a = action(s, "login")
        check(a["count"] == 4 and a["errors"] == 4 and a["errors_by_kind"] == {"connect": 4}, f"login {a}")
        check(s["exits"]["error_out"] == 4 and s["users"]["completed"] == 4, f"scenario {s['exits']} {s['users']}")


def test_a_server_that_never_answers_times_out_cleanly():
    # A listener that accepts (through its backlog) and never greets: the host's action timeout ends
    # each action (the plugin's on_error abandons the transfer) and nothing more is reported.
    with socket.socket() as silent, tempfile.TemporaryDirectory() as tmp:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        script = COMPONENT + f"""
workflows:
  w: {{steps: [{{ref: login}}]}}
actions:
  login: {{component: ftp, call: login, with: {{url: "ftp://127.0.0.1:{port}/", user: u, password: p}}, timeout: 300ms}}
load:
  scenarios:
    - {{name: silent, workflow: w, user-count: 4}}
"""
        report, _, _ = run(write_res(tmp, script), tmp)
        s = scenario(report, "silent")
        a = action(s, "login")
        check(a["count"] == 4 and a["timeouts"] == 4 and a["errors"] == 0 and a["ok"] == 0, f"login {a}")
        check(s["exits"]["timeout_out"] == 4, f"exits {s['exits']}")
        check(report["totals"]["duration_s"] < 10, f"the run took {report['totals']['duration_s']} s")


@contextlib.contextmanager
def slow_server():
    """vsftpd sending at 100 kB/s, holding big.bin (1 MB): a download of it takes about 10 s."""
    with FtpServer(extra_conf={"local_max_rate": 100_000}) as server:
        server.put("big.bin", SEED * 5)
        yield server


def get_big_script(server, timeout, scen):
    """Users downloading big.bin with the action timeout `timeout`; `scen` is the one scenario's line."""
    return COMPONENT + f"""
workflows:
  w: {{steps: [{{ref: get-big}}]}}
actions:
  get-big: {{component: ftp, call: download, with: {{url: "{server.url('big.bin')}", {account(server)}}}, timeout: {timeout}}}
load:
  scenarios:
    - {scen}
"""


def test_a_transfer_cut_by_its_timeout_is_abandoned_and_the_user_reconnects():
    # vsftpd sends at 100 kB/s, so a 1 MB download outlives its 800 ms timeout: the host ends each
    # action as a timeout, the plugin drops the transfer and its connection (no QUIT, no callback),
    # and the user's next task connects and logs in again.
    users = 2
    with slow_server() as server, tempfile.TemporaryDirectory() as tmp:
        script = get_big_script(server, "800ms", f"{{name: cut, workflow: w, user-count: {users}, task-duration: 2500ms}}")
        connects_before = server.count(r"CONNECT: Client")
        report, _, _ = run(write_res(tmp, script), tmp)
        s = scenario(report, "cut")
        a = action(s, "get-big")
        check(a["count"] >= 2 * users, f"get-big {a}")
        check(a["timeouts"] == a["count"] and a["ok"] == 0 and a["errors"] == 0, f"get-big {a}")
        check(s["exits"]["timeout_out"] == a["count"], f"exits {s['exits']}")
        connects = server.count(r"CONNECT: Client") - connects_before
        check(connects == a["count"], f"{connects} connections for {a['count']} abandoned downloads")
        check(server.count(r"OK LOGIN") == a["count"], f"{server.count('OK LOGIN')} logins")
        check(server.count(r"OK DOWNLOAD") == 0, "no download completed")


def test_max_duration_cancels_transfers_in_flight():
    # Slow downloads (vsftpd sends at 100 kB/s) still running when the scenario's max-duration ends:
    # each is cancelled by the host (the plugin drops it), counted once, and the users end.
    users = 3
    with slow_server() as server, tempfile.TemporaryDirectory() as tmp:
        script = get_big_script(server, "30s", f"{{name: capped, workflow: w, user-count: {users}, max-duration: 1s}}")
        report, _, _ = run(write_res(tmp, script), tmp)
        s = scenario(report, "capped")
        a = action(s, "get-big")
        check(a["count"] == users and a["cancelled"] == users and a["ok"] == 0 and a["errors"] == 0, f"get-big {a}")
        check(s["users"]["stopped"] == users, f"users {s['users']}")
        check(report["totals"]["duration_s"] < 10, f"the run took {report['totals']['duration_s']} s")
        check(server.count(r"OK DOWNLOAD") == 0, "no download completed")


def test_send_and_recv_rates_throttle_each_transfer():
    # The component's recv-rate / send-rate, or else config.yaml's network rates, reach libcurl: a 3 MB
    # download at 1 MiB/s takes more than 1.2 s (libcurl reads ~1.6 MB before its first pause; it takes
    # milliseconds unthrottled), a 2 MB upload more than 1.5 s, for every user at once (the limit is
    # per transfer). Without rates the same transfers are quick.
    users = 2
    big = SEED * 15
    with FtpServer() as server, tempfile.TemporaryDirectory() as tmp:
        server.put("big.bin", big)
        script = COMPONENT + f"""
workflows:
  w:
    steps:
      - ref: get
      - log: "RATE down={{{{got.duration_ms}}}} bytes={{{{got.bytes}}}}"
        level: warn
      - ref: put
      - log: "RATE up={{{{sent.duration_ms}}}} bytes={{{{sent.bytes}}}}"
        level: warn
actions:
  get: {{component: ftp, call: download, with: {{url: "{server.url('big.bin')}", {account(server)}}}, save-as: got, timeout: 20s}}
  put: {{component: ftp, call: upload, with: {{url: "{server.url('up/{{env.user_id}}.bin')}", {account(server)}, file: up.bin, create-dirs: "true"}}, save-as: sent, timeout: 20s}}
load:
  scenarios:
    - {{name: s, workflow: w, user-count: {users}}}
"""
        files = {"up.bin": SEED * 10}
        cases = (("log:\n  level: info\n", "ftp:\n  recv-rate: 1MiB/s\n  send-rate: 1048576\n", True, "component config"),
                 # config.yaml's network rates, read by the plugin (libcurl's sockets are not the host's)
                 ("tick: 20ms\nlog:\n  level: info\nnetwork:\n  send-rate: 1MiB/s\n  recv-rate: 20KiB/tick\n", "", True,
                  "config.yaml network"),
                 ("log:\n  level: info\n", "", False, None))
        for i, (config, rates, slow, source) in enumerate(cases):
            res = write_res(os.path.join(tmp, str(i)), script, config=config, component_config=rates, files=files)
            report, _, stderr = run(res, os.path.join(tmp, str(i)))
            check(source is None or f"ftp: each transfer throttled by libcurl" in stderr and f"({source})" in stderr,
                  f"the plugin says which rates apply: {stderr[-1500:]}")
            s = scenario(report, "s")
            check_all_ok(s, users, ["get", "put"], stderr)
            down = [float(x) for x in re.findall(r"RATE down=([\d.]+) bytes=3000000", stderr)]
            up = [float(x) for x in re.findall(r"RATE up=([\d.]+) bytes=2000000", stderr)]
            check(len(down) == users and len(up) == users, f"rate lines: {stderr[-2000:]}")
            if slow:
                check(min(down) > 1200 and min(up) > 1500, f"throttled: down {down} ms, up {up} ms")
                print(f"throttled: down {down} ms, up {up} ms")
            else:
                check(max(down) < 1000 and max(up) < 1000, f"unthrottled: down {down} ms, up {up} ms")
                print(f"unthrottled: down {down} ms, up {up} ms")


def test_bad_input_is_refused_clearly():
    with tempfile.TemporaryDirectory() as tmp:
        # A call the plugin does not declare: refused at validation, at its line and column.
        script = COMPONENT + """
workflows:
  w: {steps: [{ref: fetch}]}
actions:
  fetch: {component: ftp, call: retrieve, with: {url: "ftp://127.0.0.1:1/x"}}
load:
  scenarios:
    - {name: s, workflow: w, user-count: 1}
"""
        res = write_res(tmp, script)
        rc, _, err = run_ntx("validate", res)
        path = os.path.join(res, "script.yaml")
        line = next(n for n, text in enumerate(open(path), 1) if "retrieve" in text)
        col = open(path).read().splitlines()[line - 1].index("retrieve") + 1
        check(rc == 2, f"validate exit {rc}: {err}")
        check(f"script.yaml:{line}:{col}: error: action 'fetch' calls 'retrieve', which plugin 'ftp' does not declare" in err, err)

        # A param the call does not take: refused at validation (the plugin's validate_action, ABI 1.2),
        # at its value's line and column, with a did-you-mean; and so is the upload that lacks a body.
        shutil.rmtree(res)
        script = COMPONENT + """
workflows:
  w: {steps: [{ref: put}]}
actions:
  put: {component: ftp, call: upload, with: {url: "ftp://127.0.0.1:1/x", bodyy: "typo"}}
load:
  scenarios:
    - {name: s, workflow: w, user-count: 2}
"""
        res = write_res(tmp, script)
        rc, _, err = run_ntx("validate", res)
        line = next(n for n, text in enumerate(script.splitlines(), 1) if "bodyy" in text)
        text = script.splitlines()[line - 1]
        typo_col, call_col = text.index('"typo"') + 1, text.index("upload") + 1
        check(rc == 2, f"validate exit {rc}: {err}")
        check(f"script.yaml:{line}:{typo_col}: error: action 'put': 'bodyy' is not a param of upload (it takes url, "
              "user, password, mode, body or file, create-dirs) (did you mean 'body'?)" in err, err)
        check(f"script.yaml:{line}:{call_col}: error: action 'put': "
              "upload needs exactly one of body (the bytes) or file (a local path)" in err, err)

        # A bad component config: the plugin refuses to initialise (exit 3) and says which key.
        shutil.rmtree(res)
        res = write_res(tmp, script.replace("bodyy", "body"), component_config="ftp:\n  mode: sideways\n")
        rc, _, err = run_ntx("run", res, "--out", os.path.join(tmp, "out2"))
        check(rc == 3, f"exit {rc}: {err}")
        check('ftp config: "mode" must be "passive" or "active"' in err, err)


def test_the_example_runs_against_vsftpd():
    with FtpServer() as server, tempfile.TemporaryDirectory() as tmp:
        example = os.path.join(tmp, "ftp-transfer")
        shutil.copytree(os.path.join(SOURCE, "examples", "ftp-transfer"), example)
        # The example as shipped; only its manifest points at this test's server and account, and its
        # log level is debug, so that a failure shows its reason.
        with open(os.path.join(example, "resource.csv"), "w") as f:
            f.write(f"ip,port,user,password\n127.0.0.1,{server.port},{server.user},{server.password}\n")
        config = os.path.join(example, "config.yaml")
        with open(config) as f:
            text = f.read()
        check("level: warn" in text, "the example's config.yaml sets a log level")
        with open(config, "w") as f:
            f.write(text.replace("level: warn", "level: debug"))
        report, stdout, stderr = run(example, tmp)
        s = scenario(report, "ftp-transfer")
        names = ["ftp-login", "put-note", "put-payload", "list-dir", "get-payload", "delete-note", "delete-payload"]
        check_all_ok(s, 20, names, stderr)
        size = os.path.getsize(os.path.join(example, "resource", "payload.bin"))
        check(action(s, "put-payload")["bytes_sent"] == 20 * size, "payload bytes sent")
        check(action(s, "get-payload")["bytes_received"] == 20 * size, "payload bytes received")
        check(os.listdir(server.path("ntx-example")) == [], "every uploaded file was deleted")
        check(server.count(r"OK LOGIN") == 20, "one login per user")
        check("ftp-transfer" in stdout and "get-payload" in stdout, "end summary on stdout")


if __name__ == "__main__":
    main([
        test_users_login_upload_list_download_delete_on_one_connection_each,
        test_users_creating_one_directory_at_once_all_upload,
        test_active_mode,
        test_wrong_password_is_a_counted_login_error_and_the_run_goes_on,
        test_missing_file_is_an_error_of_its_own_kind,
        test_max_body_bytes_limits_a_listing_and_truncates_a_kept_body,
        test_refused_connection_is_a_counted_connect_error,
        test_a_server_that_never_answers_times_out_cleanly,
        test_a_transfer_cut_by_its_timeout_is_abandoned_and_the_user_reconnects,
        test_max_duration_cancels_transfers_in_flight,
        test_send_and_recv_rates_throttle_each_transfer, test_bad_input_is_refused_clearly,
        test_the_example_runs_against_vsftpd,
    ])
