"""deploy/kubernetes/ holds what docs/distributed.md promises, checked without a cluster: an Indexed Job
whose pods run `ntx run --segment $JOB_COMPLETION_INDEX/N --start-at $START_AT` on a ConfigMap res_dir
(which `ntx validate` accepts, for every segment), writing to a ReadWriteMany volume the merge Job reads
every segment from; Prometheus scraping each pod through a port that forwards to ntx's loopback-only
endpoint; recording rules that sum the pods (checked by promtool, their metric names against a real
ntx's exposition); and a Dockerfile from Debian 12 packages that exist."""
import os
import re
import shutil
import subprocess
import tempfile

import yaml

from harness import NTX, SOURCE, check, main, run_ntx

K8S = os.path.join(SOURCE, "deploy", "kubernetes")


def load(name):
    with open(os.path.join(K8S, name)) as f:
        return yaml.safe_load(f)


def env_of(container):
    return {e["name"]: e.get("value") for e in container.get("env", [])}


def test_the_segments_job_is_an_indexed_job_of_n_segments():
    job = load("job-segments.yaml")
    check(job["apiVersion"] == "batch/v1" and job["kind"] == "Job", job["kind"])
    spec = job["spec"]
    check(spec["completionMode"] == "Indexed", spec)
    pod = spec["template"]["spec"]
    check(pod["restartPolicy"] == "Never", pod["restartPolicy"])
    ntx = next(c for c in pod["containers"] if c["name"] == "ntx")
    env = env_of(ntx)
    n = int(env["SEGMENTS"])
    check(spec["completions"] == n and spec["parallelism"] == n, f"completions/parallelism vs SEGMENTS={n}")
    check("START_AT" in env and "RUN_ID" in env, env)
    cmd = " ".join(ntx["command"] + ntx["args"])
    check("ntx run /res" in cmd, cmd)
    check('--segment "$JOB_COMPLETION_INDEX/$SEGMENTS"' in cmd, cmd)
    check('--start-at "$START_AT"' in cmd, cmd)
    check('--out "/reports/$RUN_ID/seg-$JOB_COMPLETION_INDEX"' in cmd, cmd)
    mounts = {m["name"]: m["mountPath"] for m in ntx["volumeMounts"]}
    check(mounts == {"res-dir": "/res", "reports": "/reports"}, mounts)
    vols = {v["name"]: v for v in pod["volumes"]}
    check(vols["res-dir"]["configMap"]["name"] == load("configmap-res-dir.yaml")["metadata"]["name"], vols["res-dir"])
    check(vols["reports"]["persistentVolumeClaim"]["claimName"] == load("pvc-reports.yaml")["metadata"]["name"], vols)
    check(load("pvc-reports.yaml")["spec"]["accessModes"] == ["ReadWriteMany"], "the reports volume is shared")

    # Metrics: ntx listens on loopback; the sidecar forwards the pod's named port to it.
    listen = re.search(r"--metrics-listen (\S+)", cmd)
    check(listen and listen.group(1).startswith("127.0.0.1:"), cmd)
    sidecar = next(c for c in pod["containers"] if c["name"] == "metrics")
    port = sidecar["ports"][0]
    check(port["name"] == "metrics", port)
    check(sidecar["command"] == ["socat", f"TCP-LISTEN:{port['containerPort']},fork,reuseaddr", f"TCP:{listen.group(1)}"],
          sidecar["command"])
    monitor = load("podmonitor.yaml")
    check(monitor["kind"] == "PodMonitor", monitor["kind"])
    labels = spec["template"]["metadata"]["labels"]
    for k, v in monitor["spec"]["selector"]["matchLabels"].items():
        check(labels.get(k) == v, f"the PodMonitor selects {k}={v}, the pods are {labels}")
    check(monitor["spec"]["podMetricsEndpoints"][0]["port"] == "metrics", monitor["spec"])


def test_the_merge_job_reads_every_segment():
    segments, merge = load("job-segments.yaml"), load("job-merge.yaml")
    check(merge["kind"] == "Job" and "completionMode" not in merge["spec"], merge["spec"])
    c = merge["spec"]["template"]["spec"]["containers"][0]
    cmd = " ".join(c["command"] + c["args"])
    check(env_of(c)["SEGMENTS"] == env_of(segments["spec"]["template"]["spec"]["containers"][0])["SEGMENTS"], "SEGMENTS")
    check("ntx merge $dirs --out \"/reports/$RUN_ID/merged\"" in cmd and "/reports/$RUN_ID/seg-$i" in cmd, cmd)
    # The loop lists seg-0 .. seg-(N-1), as the segment pods write them.
    p = subprocess.run(["sh", "-c", cmd.replace("exec ntx merge", "echo")], env={"SEGMENTS": "4", "RUN_ID": "r"},
                       capture_output=True, text=True)
    check(p.stdout.split() == [f"/reports/r/seg-{i}" for i in range(4)] + ["--out", "/reports/r/merged"], p.stdout)
    vol = merge["spec"]["template"]["spec"]["volumes"][0]
    check(vol["persistentVolumeClaim"]["claimName"] == "ntx-reports", vol)


def test_the_configmap_res_dir_validates_in_every_segment():
    cm = load("configmap-res-dir.yaml")
    check(cm["kind"] == "ConfigMap" and "script.yaml" in cm["data"], cm.get("data", {}).keys())
    n = int(env_of(load("job-segments.yaml")["spec"]["template"]["spec"]["containers"][0])["SEGMENTS"])
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in cm["data"].items():
            with open(os.path.join(tmp, name), "w") as f:
                f.write(text)
        for i in range(n):
            rc, stdout, stderr = run_ntx("validate", tmp, "--segment", f"{i}/{n}")
            check(rc == 0, f"validate --segment {i}/{n}: {rc} {stdout} {stderr}")


def test_the_recording_rules_sum_the_pods():
    rules = load("prometheus-rules.yaml")
    check(rules["kind"] == "PrometheusRule", rules["kind"])
    groups = rules["spec"]["groups"]
    exprs = [r["expr"] for g in groups for r in g["rules"]]
    check(exprs and all("sum without (pod, instance" in e for e in exprs), exprs)
    # Every metric they read is one ntx exposes (its Prometheus writer's families).
    with open(os.path.join(SOURCE, "libntx", "src", "live", "prometheus.cpp")) as f:
        families = set(re.findall(r'family\(out, "(ntx_[a-z_]+)"', f.read()))
    for e in exprs:
        for metric in re.findall(r"\b(ntx_[a-z_]+)", e):
            base = re.sub(r"_(bucket|sum|count)$", "", metric)
            check(base in families, f"{metric} is not a metric ntx exposes ({sorted(families)})")
    promtool = shutil.which("promtool")
    if promtool:
        with tempfile.NamedTemporaryFile("w", suffix=".yml") as f:
            yaml.safe_dump({"groups": groups}, f)
            f.flush()
            p = subprocess.run([promtool, "check", "rules", f.name], capture_output=True, text=True)
            check(p.returncode == 0, f"promtool: {p.stdout} {p.stderr}")


def test_the_dockerfile_uses_debian_packages():
    with open(os.path.join(K8S, "Dockerfile")) as f:
        text = f.read()
    stages = re.findall(r"^FROM (\S+)", text, re.M)
    check(stages and all(s == "debian:12" for s in stages), stages)
    packages = []
    for install in re.findall(r"apt-get install -y --no-install-recommends((?:[^&]|\\\n)+)", text):
        packages += [p for p in install.replace("\\\n", " ").split() if not p.startswith("-")]
    check("socat" in packages and "libssl-dev" in packages, packages)
    if shutil.which("apt-cache"):
        r = subprocess.run(["apt-cache", "show", "--no-all-versions", *packages], capture_output=True, text=True)
        known = set(re.findall(r"^Package: (\S+)$", r.stdout, re.M))
        check(set(packages) <= known, f"not Debian packages here: {sorted(set(packages) - known)} {r.stderr}")
    check("USER 65534" in text, "the image runs unprivileged")


if __name__ == "__main__":
    main([test_the_segments_job_is_an_indexed_job_of_n_segments, test_the_merge_job_reads_every_segment,
          test_the_configmap_res_dir_validates_in_every_segment, test_the_recording_rules_sum_the_pods,
          test_the_dockerfile_uses_debian_packages])
