"""A real vsftpd for the tests, on 127.0.0.1 only, with a throw-away config.

FtpServer writes a vsftpd.conf into a temp dir (listen on a free loopback port, a free passive port
range, logs inside the temp dir), makes a chroot under the build dir for a local test user, starts
vsftpd in the foreground as a child process, waits until it greets a real connection with "220", and
stops it (and its session processes) when the test is done.

The test user is a local system account (USER): vsftpd authenticates it through PAM against
/etc/shadow, so creating it and setting its password needs root. CI runs the suite as root; run by
anyone else, the FTP tests fail with a message saying so (they are never skipped silently). The
account (home "/", shell /bin/sh, which Debian's PAM stack for vsftpd requires to be in
/etc/shells) is created once and kept; its password is random for each server and the account is
locked again when the server stops, so it is never usable with a known password. Servers of concurrent test runs take turns on the
account through a lock file.
"""
import fcntl
import os
import pwd
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time

if __name__ == "__main__":
    # Run by hand (see main() below): harness wants the variables ctest sets; only BUILD matters here.
    _repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    for _k, _v in (("NTX_BIN", ""), ("NTX_TARGET", ""), ("NTX_SOURCE_DIR", _repo),
                   ("NTX_BUILD_DIR", os.path.join(_repo, "build")), ("NTX_TEST_PLUGIN_DIR", "")):
        os.environ.setdefault(_k, _v)

from harness import BUILD, free_port  # noqa: E402

USER = "ntxftp"
# pam_shells (in Debian's /etc/pam.d/vsftpd) only admits users whose shell is in /etc/shells.
SHELL = "/bin/sh"
LOCK_FILE = "/tmp/ntx-ftp-test-user.lock"


def _run(*cmd, stdin=None):
    p = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr.strip()}")


def _vsftpd():
    for path in (shutil.which("vsftpd"), "/usr/sbin/vsftpd"):
        if path and os.access(path, os.X_OK):
            return path
    raise AssertionError("vsftpd is not installed: run scripts/install-deps.sh")


def _die_with_parent():
    """In the child before exec: vsftpd gets SIGTERM if the test process dies (a ctest timeout)."""
    import ctypes
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def ensure_user():
    """Creates the local FTP test user if missing (root only)."""
    if os.geteuid() != 0:
        raise AssertionError(
            f"the FTP tests need root: they create the local user '{USER}' and set its password for vsftpd's "
            "PAM login (CI runs the suite as root); run them as root, e.g. sudo ctest -R ftp")
    try:
        pw = pwd.getpwnam(USER)
    except KeyError:
        # vsftpd changes to the user's home before its local_root: "/" always exists.
        _run("useradd", "--system", "--no-create-home", "--home-dir", "/", "--shell", SHELL,
             "--comment", "ntx test suite FTP user", USER)
        return
    if pw.pw_dir != "/" or pw.pw_shell != SHELL:
        _run("usermod", "--home", "/", "--shell", SHELL, USER)


def free_port_range(count):
    """`count` consecutive loopback ports that nothing holds right now. They are drawn above Linux's
    ephemeral range (32768-60999), where only explicit binds compete, not every outgoing connection."""
    for _ in range(200):
        base = random.randint(61000, 65535 - count)
        held = []
        try:
            for p in range(base, base + count):
                s = socket.socket()
                held.append(s)
                s.bind(("127.0.0.1", p))
            return base, base + count - 1
        except OSError:
            continue
        finally:
            for s in held:
                s.close()
    raise AssertionError(f"no {count} consecutive free ports on 127.0.0.1")


def _traversable(path):
    """Whether every directory from / down to `path` lets others through (o+x)."""
    path = os.path.realpath(path)
    while True:
        if not os.stat(path).st_mode & 0o001:
            return False
        parent = os.path.dirname(path)
        if parent == path:
            return True
        path = parent


class FtpServer:
    """vsftpd on 127.0.0.1:port with USER chrooted into `root` (a fresh dir under the build dir)."""

    # vsftpd binds each passive listener to a random port of its range and gives up (500 OOPS) after
    # 10 tries on ports that other sessions' listeners hold: the range is kept well above the number
    # of transfers the tests run at once.
    def __init__(self, pasv_ports=100, extra_conf=None):
        self.proc = None
        self._lock = None
        ensure_user()
        self._lock = open(LOCK_FILE, "w")
        fcntl.flock(self._lock, fcntl.LOCK_EX)  # another test run's server holds the account: wait
        self.user = USER
        self.password = secrets.token_urlsafe(18)
        # SHA-512 with the fewest rounds: a yescrypt check per login would make PAM, not the code under
        # test, the slowest thing in every run.
        _run("chpasswd", "--crypt-method", "SHA512", "--sha-rounds", "1000", stdin=f"{USER}:{self.password}\n")

        self.dir = tempfile.mkdtemp(prefix="ntx-vsftpd-")
        # The chroot must be reachable by the test user: every directory above it needs o+x. A clone
        # under a private directory (mktemp -d is 0700, /root is 0700) is not, so the chroot goes under
        # the build dir only when its path is traversable, and under /tmp (1777) otherwise.
        base = os.path.join(BUILD, "ftp-test")
        if not _traversable(BUILD):
            base = "/tmp"
        os.makedirs(base, exist_ok=True)
        self.root = tempfile.mkdtemp(prefix="ntx-ftp-root-", dir=base)
        pw = pwd.getpwnam(USER)
        os.chown(self.root, pw.pw_uid, pw.pw_gid)
        os.chmod(self.root, 0o755)
        empty = os.path.join(self.dir, "empty")  # vsftpd's secure_chroot_dir: empty, root-owned, not writable
        os.mkdir(empty, 0o755)

        self.port = free_port()
        self.pasv_min, self.pasv_max = free_port_range(pasv_ports)
        self.log = os.path.join(self.dir, "vsftpd.log")
        conf = {
            "listen": "YES", "listen_ipv6": "NO", "listen_address": "127.0.0.1", "listen_port": self.port,
            "background": "NO", "seccomp_sandbox": "NO", "isolate": "NO", "isolate_network": "NO",
            "anonymous_enable": "NO", "local_enable": "YES", "write_enable": "YES", "local_umask": "022",
            "pam_service_name": "vsftpd", "userlist_enable": "NO", "tcp_wrappers": "NO",
            "local_root": self.root, "chroot_local_user": "YES", "allow_writeable_chroot": "YES",
            "secure_chroot_dir": empty,
            "pasv_enable": "YES", "pasv_min_port": self.pasv_min, "pasv_max_port": self.pasv_max,
            "port_enable": "YES", "connect_from_port_20": "NO",
            "max_clients": 0, "max_per_ip": 0,
            "xferlog_enable": "YES", "xferlog_std_format": "NO", "log_ftp_protocol": "YES",
            "vsftpd_log_file": self.log, "syslog_enable": "NO",
            "ftpd_banner": "ntx test vsftpd",
        }
        conf.update(extra_conf or {})
        self.conf = os.path.join(self.dir, "vsftpd.conf")
        with open(self.conf, "w") as f:
            f.write("".join(f"{k}={v}\n" for k, v in conf.items()))
        self.stderr_path = os.path.join(self.dir, "stderr")
        try:
            with open(self.stderr_path, "w") as err:
                self.proc = subprocess.Popen([_vsftpd(), self.conf], stdin=subprocess.DEVNULL,
                                             stdout=err, stderr=err, start_new_session=True,
                                             preexec_fn=_die_with_parent)
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, timeout=20.0):
        """Ready means: a real connection gets vsftpd's "220" greeting."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"vsftpd exited with {self.proc.returncode}: {self._stderr()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
                    greeting = s.makefile("rb").readline()
                    if greeting.startswith(b"220"):
                        s.sendall(b"QUIT\r\n")
                        return
                    last = greeting
            except OSError as e:  # not listening yet
                last = e
            time.sleep(0.02)
        raise AssertionError(f"vsftpd did not greet on 127.0.0.1:{self.port}: {last!r} {self._stderr()}")

    def _stderr(self):
        try:
            with open(self.stderr_path) as f:
                return f.read().strip()
        except OSError:
            return ""

    def url(self, path=""):
        return f"ftp://127.0.0.1:{self.port}/{path}"

    def path(self, rel):
        """The file `rel` (a path in the FTP namespace, relative to the user's root) on disk."""
        return os.path.join(self.root, rel)

    def put(self, rel, data):
        """Creates a file the user can read, write and delete."""
        p = self.path(rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
        pw = pwd.getpwnam(USER)
        d = os.path.dirname(p)
        while True:
            os.chown(d, pw.pw_uid, pw.pw_gid)
            if os.path.samefile(d, self.root):
                break
            d = os.path.dirname(d)
        os.chown(p, pw.pw_uid, pw.pw_gid)

    def log_text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def count(self, pattern):
        """Lines of vsftpd's log matching the regex `pattern` (e.g. r'OK LOGIN', r'CONNECT: Client')."""
        rx = re.compile(pattern)
        return sum(1 for line in self.log_text().splitlines() if rx.search(line))

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            # vsftpd forks a process per session: end the whole group this server started.
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)  # session processes left behind, if any
            except ProcessLookupError:
                pass
        if self._lock is not None:
            subprocess.run(["usermod", "--lock", USER], capture_output=True, timeout=60)
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None
        self.proc = None

    def cleanup(self):
        """Stops the server and removes its files (config, logs, the chroot)."""
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()


def main():
    """Starts a throw-away vsftpd by hand (as root) until Ctrl-C, e.g. for examples/ftp-transfer:
    python3 tests/e2e/ftp_server.py --manifest examples/ftp-transfer/resource.csv"""
    import argparse
    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("--manifest", help="rewrite this ip,port,user,password CSV with the server's address and account")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    with FtpServer() as server:
        print(f"vsftpd on 127.0.0.1:{server.port}, user {server.user}, root {server.root}", flush=True)
        if args.manifest:
            with open(args.manifest, "w") as f:
                f.write("# written by tests/e2e/ftp_server.py for a server that is gone once it stops\n"
                        f"ip,port,user,password\n127.0.0.1,{server.port},{server.user},{server.password}\n")
            print(f"wrote {args.manifest}; Ctrl-C stops the server", flush=True)
        else:
            print(f"password: {server.password} (random for this server); Ctrl-C stops it", flush=True)
        try:
            server.proc.wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
