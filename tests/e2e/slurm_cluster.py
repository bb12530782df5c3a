"""A throw-away single-node Slurm on this machine, for the end-to-end tests: munged with its own key,
socket, pid and seed files, slurmctld and slurmd (Slurm 22.05 from Debian's slurm-wlm) with a config in a
temp dir (own ports, state and spool dirs, SlurmUser=root, one node at 127.0.0.1 that runs 4 jobs at once).
Needs root (slurmd runs jobs as their user). SlurmCluster() starts everything and waits until the node
is idle; stop() (or leaving the `with` block) cancels every job and stops every daemon it started, by pid.

    env          the environment for sbatch/squeue/scontrol (SLURM_CONF points at the temp config)
    sbatch(...)  submits; returns the job id
    wait_job(id) waits until the job (every task of an array) ended; returns {task id: state}
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from harness import free_port, stop_process

CONF = """ClusterName=ntxe2e
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={dir}/munge.socket
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
StateSaveLocation={dir}/state
SlurmdSpoolDir={dir}/spool
SlurmctldPidFile={dir}/slurmctld.pid
SlurmdPidFile={dir}/slurmd.pid
SlurmctldLogFile={dir}/slurmctld.log
SlurmdLogFile={dir}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
MinJobAge=300
KillWait=5
NodeName=ntxnode NodeHostname={hostname} NodeAddr=127.0.0.1 CPUs={cpus} State=UNKNOWN
PartitionName=e2e Nodes=ntxnode Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
"""


def available():
    """None when a cluster can start here, else why not (the test skips with it)."""
    if os.geteuid() != 0:
        return "not root: slurmd and munged need root to run jobs (run the suite as root)"
    for exe in ("munged", "slurmctld", "slurmd", "sbatch"):
        if not shutil.which(exe) and not os.path.exists(f"/usr/sbin/{exe}"):
            return f"{exe} is not installed (scripts/install-deps.sh installs slurm-wlm and munge)"
    return None


def _exe(name):
    return shutil.which(name) or f"/usr/sbin/{name}"


class SlurmCluster:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="ntx-slurm-")
        self.procs = []
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _log(self, name):
        try:
            with open(os.path.join(self.dir, name)) as f:
                return f.read()[-3000:]
        except OSError:
            return ""

    def _start(self):
        d = self.dir
        for sub in ("state", "spool", "munge"):
            os.makedirs(os.path.join(d, sub), mode=0o700, exist_ok=True)
        os.chmod(d, 0o755)  # munged checks that its socket's folder is not writable by others
        key = os.path.join(d, "munge", "munge.key")
        with open(key, "wb") as f:
            f.write(os.urandom(1024))
        os.chmod(key, 0o400)
        socket_path = os.path.join(d, "munge.socket")
        self.munged = subprocess.Popen(
            [_exe("munged"), "--foreground", "--force", f"--key-file={key}", f"--socket={socket_path}",
             f"--pid-file={d}/munge/munged.pid", f"--seed-file={d}/munge/munged.seed", f"--log-file={d}/munged.log"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.procs.append(self.munged)
        self._wait(lambda: os.path.exists(socket_path), "munged's socket", self.munged, "munged.log")
        conf = os.path.join(d, "slurm.conf")
        with open(conf, "w") as f:
            f.write(CONF.format(dir=d, ctld_port=free_port(), slurmd_port=free_port(), hostname=socket.gethostname(),
                                cpus=os.cpu_count() or 1))
        self.env = dict(os.environ, SLURM_CONF=conf)
        self.slurmctld = subprocess.Popen([_exe("slurmctld"), "-D", "-i", "-f", conf], env=self.env,
                                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.procs.append(self.slurmctld)
        self._wait(lambda: self._run("scontrol", "ping", check=False).returncode == 0, "slurmctld answering",
                   self.slurmctld, "slurmctld.log")
        self.slurmd = subprocess.Popen([_exe("slurmd"), "-D", "-N", "ntxnode", "-f", conf], env=self.env,
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.procs.append(self.slurmd)
        self._wait(lambda: self._node_state() in ("idle", "mixed", "allocated"), "the node idle", self.slurmd, "slurmd.log")

    def _node_state(self):
        p = self._run("sinfo", "-h", "-N", "-o", "%T", check=False)
        state = p.stdout.strip().rstrip("*~#")
        if state in ("down", "drained", "unknown"):
            self._run("scontrol", "update", "nodename=ntxnode", "state=resume", check=False)
        return state

    def _wait(self, predicate, what, proc, log, timeout=60):
        deadline = time.monotonic() + timeout
        while not predicate():
            if proc.poll() is not None:
                raise AssertionError(f"{what}: the daemon exited {proc.returncode}: {proc.stdout.read()[-2000:]} "
                                     f"{self._log(log)}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: not within {timeout} s: {self._log(log)}")
            time.sleep(0.1)  # polling a daemon's own readiness: it offers no event to wait on

    def _run(self, *args, check=True):
        p = subprocess.run(list(args), env=self.env, capture_output=True, text=True, timeout=60)
        if check and p.returncode != 0:
            raise AssertionError(f"{' '.join(args)} exited {p.returncode}: {p.stderr}")
        return p

    def sbatch(self, *args):
        out = self._run("sbatch", "--parsable", *args).stdout.strip()
        return out.split(";")[0]

    def job_states(self, job):
        """{task: state} of a job (an array's tasks by their index; a plain job as task '-')."""
        p = self._run("scontrol", "-o", "show", "job", job, check=False)
        states = {}
        for line in p.stdout.splitlines():
            state = re.search(r"\bJobState=(\S+)", line)
            task = re.search(r"\bArrayTaskId=(\S+)", line)
            if state:
                states[task.group(1) if task else "-"] = state.group(1)
        return states

    def wait_job(self, job, timeout=300):
        ended = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE"}
        deadline = time.monotonic() + timeout
        while True:
            states = self.job_states(job)
            if states and all(s in ended for s in states.values()) and not any("-" in t or "[" in t for t in states
                                                                                if t != "-"):
                return states
            if time.monotonic() > deadline:
                raise AssertionError(f"job {job} not ended within {timeout} s: {states} {self._log('slurmctld.log')}")
            time.sleep(0.2)  # Slurm's job states are polled (scontrol); there is no event to wait on

    def stop(self):
        if getattr(self, "env", None):
            subprocess.run(["scancel", "--full", "--user=root"], env=self.env, capture_output=True, timeout=30)
        for proc in reversed(self.procs):
            if proc.poll() is None:
                stop_process(proc, signal.SIGTERM, timeout=30)
            if proc.stdout:
                proc.stdout.close()
        self.procs = []
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
