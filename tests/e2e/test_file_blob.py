"""file_blob resources: a file read once at planning, checksummed, posted as an HTTP body by every user
(`{{blob.payload}}`) and compared with what the server sends back; a checksum that does not match is
an error before anything runs."""
import hashlib
import os
import tempfile

from harness import Target, action, check, free_port, main, read_report, run_ntx, scenario

PORT = free_port()


def res_dir(tmp, payload, checksum):
    res = os.path.join(tmp, "res")
    os.makedirs(res, exist_ok=True)
    with open(os.path.join(res, "payload.bin"), "wb") as f:
        f.write(payload)
    with open(os.path.join(res, "script.yaml"), "w") as f:
        f.write(f"""components:
  - {{name: http, version: "0.2.1", entry: http}}
resources:
  payload:
    type: file_blob
    config: {{file: ./payload.bin, checksum: "{checksum}"}}
workflows:
  w:
    steps:
      - ref: put
      - ref: get
      - if: "asset.body == blob.payload && length(asset.body) == blob.payload.size"
        then: [{{log: "same bytes, sha256 {{{{blob.payload.sha256}}}}", level: warn}}]
        else: [{{goto: error_out}}]
actions:
  put: {{component: http, call: post, with: {{url: "http://127.0.0.1:{PORT}/asset", body: "{{{{blob.payload}}}}"}}}}
  get: {{component: http, call: get, with: {{url: "http://127.0.0.1:{PORT}/asset"}}, save-as: asset}}
load:
  scenarios:
    - {{name: s, workflow: w, user-count: 1}}
""")
    return res


def test_blob_body_round_trips():
    payload = bytes((i * 7 + 3) % 251 for i in range(100_000)).replace(b"{", b"(")  # no template braces
    digest = hashlib.sha256(payload).hexdigest()
    with Target(PORT, PORT), tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out")
        rc, _, stderr = run_ntx("run", res_dir(tmp, payload, f"sha256:{digest}"), "--out", out, "--quiet")
        check(rc == 0, f"ntx run exited {rc}: {stderr}")
        s = scenario(read_report(out), "s")
        put = action(s, "put")
        check(put["ok"] == 1 and put["bytes_sent"] >= len(payload), f"put {put}")
        check(s["exits"]["error_out"] == 0 and s["condition_errors"] == 0, f"exits {s['exits']}")
        check(f"same bytes, sha256 {digest}" in stderr, stderr)


def test_checksum_mismatch_is_a_planning_error():
    with tempfile.TemporaryDirectory() as tmp:
        rc, _, stderr = run_ntx("validate", res_dir(tmp, b"hello", "sha256:" + "0" * 64))
        check(rc == 2, f"validate exited {rc}")
        digest = hashlib.sha256(b"hello").hexdigest()
        check(f"script.yaml:6:45: error: './payload.bin' does not match its checksum: sha256 is {digest}" in stderr, stderr)


if __name__ == "__main__":
    main([test_blob_body_round_trips, test_checksum_mismatch_is_a_planning_error])
