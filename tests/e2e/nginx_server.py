"""A real nginx for the end-to-end tests: a throw-away config under a temp dir, loopback only.

Nginx(...) makes a self-signed certificate for localhost and 127.0.0.1 with the openssl CLI, writes
nginx.conf (pid, logs and temp paths all inside the temp dir), starts nginx in the foreground
(`daemon off; master_process off;`: one process, the test's user, nothing left behind), and waits until
both its ports accept connections. stop() (or leaving the `with` block) ends it and removes the dir.

    http_port / https_port   where it listens on 127.0.0.1
    h2c_port                 HTTP/2 with prior knowledge (h2c), the same locations
    h2s_port                 HTTPS that selects h2 by ALPN (h2 over TLS), the same locations; https_port
                             stays HTTP/1.1 only (no http2 on its listen: it ignores ALPN's h2)
    cert_file                the certificate (PEM), usable as a CA file: it is its own issuer
    root                     the document root (www/); files put there are served under /
    requests()               the access log so far: a list of dicts (method, uri, status, scheme, sni, bytes,
                             connection: nginx's serial number of the connection, resumed: a TLS session
                             was resumed, tls: the TLS version or "-", args: the query or "-", http: HTTP/1.1 or HTTP/2.0)

Locations (the same on http and https):
    /static/...              files under root/static
    /dav/...                 WebDAV: PUT creates or replaces (201/204), DELETE removes (204)
    /post                    accepts any method with a body and answers 201 "created\n"
    /status/<code>           answers <code> (204, 404, 500 or 503)
    /redirect/to-static      301 to /static/hello.txt
    /loop/a, /loop/b         302 to each other
    /hop/<n>                 302 to /hop/<n>x: an endless chain of new URLs
    /gzip/...                files under root/static, gzip-encoded: a chunked response
    /json/...                files under root/static as application/json, gzip-encoded when asked
    /login                   302 to /account with Set-Cookie: sid=<connection serial>-<msec> (Path=/, HttpOnly)
    /account                 200 JSON naming the sid cookie it got; 401 without one
"""
import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

if __name__ == "__main__":
    # Standalone (serving examples/https by hand): harness.py only needs the test environment for
    # paths this script does not use.
    for name in ("NTX_BIN", "NTX_TARGET", "NTX_SOURCE_DIR", "NTX_BUILD_DIR", "NTX_TEST_PLUGIN_DIR"):
        os.environ.setdefault(name, "")
from harness import free_port, stop_process  # noqa: E402

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

HELLO = "hello from nginx\n"

CONF = """
daemon off;
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    default_type application/octet-stream;
    types {{ text/plain txt; application/json json; }}
    log_format ntx '$request_method $uri $status $scheme $ssl_server_name $body_bytes_sent $connection $ssl_session_reused $ssl_protocol $args $server_protocol';
    access_log {dir}/access.log ntx;
    client_body_temp_path {dir}/tmp/body;
    proxy_temp_path {dir}/tmp/proxy;
    fastcgi_temp_path {dir}/tmp/fastcgi;
    uwsgi_temp_path {dir}/tmp/uwsgi;
    scgi_temp_path {dir}/tmp/scgi;
    keepalive_requests 100000;
    server {{
        listen 127.0.0.1:{http_port};
        server_name localhost;
        include {dir}/locations.conf;
    }}
    server {{
        listen 127.0.0.1:{h2c_port} http2;
        server_name localhost;
        include {dir}/locations.conf;
    }}
    server {{
        listen 127.0.0.1:{https_port} ssl;
        server_name localhost;
        ssl_certificate {dir}/cert.pem;
        ssl_certificate_key {dir}/key.pem;
        ssl_protocols {ssl_protocols};
        include {dir}/locations.conf;
    }}
    server {{
        listen 127.0.0.1:{h2s_port} ssl http2;
        server_name localhost;
        ssl_certificate {dir}/cert.pem;
        ssl_certificate_key {dir}/key.pem;
        ssl_protocols {ssl_protocols};
        include {dir}/locations.conf;
    }}
}}
"""

LOCATIONS = """
root {dir}/www;
location /static/ {{ }}
location /dav/ {{
    dav_methods PUT DELETE;
    create_full_put_path on;
    client_max_body_size 1m;
}}
location = /post {{ client_max_body_size 1m; return 201 "created\\n"; }}
location = /status/204 {{ return 204; }}
location = /status/404 {{ return 404; }}
location = /status/500 {{ return 500; }}
location = /status/503 {{ return 503; }}
location = /redirect/to-static {{ return 301 /static/hello.txt; }}
location = /loop/a {{ return 302 /loop/b; }}
location = /loop/b {{ return 302 /loop/a; }}
location ~ ^/hop/(\\w+)$ {{ return 302 /hop/$1x; }}
location /gzip/ {{
    alias {dir}/www/static/;
    gzip on;
    gzip_min_length 0;
    gzip_types text/plain application/octet-stream;
}}
location /json/ {{
    alias {dir}/www/static/;
    gzip on;
    gzip_min_length 0;
    gzip_types application/json;
}}
location = /login {{
    add_header Set-Cookie "sid=$connection-$msec; Path=/; HttpOnly; SameSite=Lax";
    return 302 /account;
}}
location = /account {{
    if ($cookie_sid = "") {{ return 401; }}
    default_type application/json;
    return 200 '{{"sid":"$cookie_sid"}}';
}}
"""


def make_certificate(directory):
    """A self-signed certificate for CN=localhost with SANs DNS:localhost and IP:127.0.0.1."""
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", os.path.join(directory, "key.pem"), "-out", os.path.join(directory, "cert.pem"),
         "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-addext", "basicConstraints=critical,CA:TRUE"],
        check=True, capture_output=True)


def _accepts(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class Nginx:
    def __init__(self, static_files=None, http_port=None, https_port=None, ssl_protocols="TLSv1.2 TLSv1.3"):
        self.http_port, self.https_port = http_port, https_port
        self.ssl_protocols = ssl_protocols
        self.dir = tempfile.mkdtemp(prefix="ntx-nginx-")
        try:
            self._start(static_files or {})
        except BaseException:
            self.stop()
            raise

    def _start(self, static_files):
        d = self.dir
        self.root = os.path.join(d, "www")
        for sub in ("tmp", "www/static", "www/dav"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        files = {"hello.txt": HELLO}
        files.update(static_files)
        for name, content in files.items():
            mode = "wb" if isinstance(content, bytes) else "w"
            with open(os.path.join(self.root, "static", name), mode) as f:
                f.write(content)
        make_certificate(d)
        self.cert_file = os.path.join(d, "cert.pem")
        self.http_port = self.http_port or free_port()
        while not self.https_port or self.https_port == self.http_port:
            self.https_port = free_port()
        self.h2c_port = free_port()
        while self.h2c_port in (self.http_port, self.https_port):
            self.h2c_port = free_port()
        self.h2s_port = free_port()
        while self.h2s_port in (self.http_port, self.https_port, self.h2c_port):
            self.h2s_port = free_port()
        with open(os.path.join(d, "locations.conf"), "w") as f:
            f.write(LOCATIONS.format(dir=d))
        conf = os.path.join(d, "nginx.conf")
        with open(conf, "w") as f:
            f.write(CONF.format(dir=d, http_port=self.http_port, https_port=self.https_port, h2c_port=self.h2c_port,
                                h2s_port=self.h2s_port,
                                ssl_protocols=self.ssl_protocols))
        self.proc = subprocess.Popen([NGINX, "-p", d, "-c", conf, "-e", os.path.join(d, "error.log")],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 20
        while not (_accepts(self.http_port) and _accepts(self.https_port) and _accepts(self.h2c_port) and
                   _accepts(self.h2s_port)):
            if self.proc.poll() is not None:
                raise AssertionError(f"nginx exited {self.proc.returncode}: {self.proc.stderr.read()} "
                                     f"{self._error_log()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"nginx did not listen on {self.http_port}/{self.https_port}: {self._error_log()}")
            time.sleep(0.02)
        # The readiness probes above are connections without a request: nginx logs nothing for them.

    def _error_log(self):
        try:
            with open(os.path.join(self.dir, "error.log")) as f:
                return f.read()
        except OSError:
            return ""

    def url(self, path, tls=False, host="127.0.0.1"):
        return f"{'https' if tls else 'http'}://{host}:{self.https_port if tls else self.http_port}{path}"

    def requests(self):
        """Every request nginx logged so far (it writes each line as the request ends)."""
        out = []
        try:
            with open(os.path.join(self.dir, "access.log")) as f:
                for line in f:
                    method, uri, status, scheme, sni, sent, connection, reused, protocol, args, http = line.split()
                    out.append({"method": method, "uri": uri, "status": int(status), "scheme": scheme,
                                "sni": sni, "bytes": int(sent), "connection": int(connection),
                                "resumed": reused == "r", "tls": protocol, "args": args, "http": http})
        except FileNotFoundError:
            pass
        return out

    def count(self, **match):
        """How many logged requests have every given field equal (uri_prefix= matches a prefix)."""
        prefix = match.pop("uri_prefix", None)
        return sum(1 for r in self.requests()
                   if all(r[k] == v for k, v in match.items()) and (prefix is None or r["uri"].startswith(prefix)))

    def stop(self):
        proc = getattr(self, "proc", None)
        if proc is not None:
            stop_process(proc)
            proc.stdout.close()
            proc.stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def main():
    """Serves until Ctrl-C or SIGTERM: `python3 tests/e2e/nginx_server.py --https-port 8443 --cert-out examples/https/ca.pem`."""
    p = argparse.ArgumentParser(description="a throw-away nginx on 127.0.0.1 with a self-signed certificate")
    p.add_argument("--http-port", type=int, default=8080)
    p.add_argument("--https-port", type=int, default=8443)
    p.add_argument("--cert-out", help="copy the certificate (the CA file to trust) here")
    args = p.parse_args()

    def interrupt(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)  # `kill PID` stops nginx and removes its files too
    signal.signal(signal.SIGINT, interrupt)   # also when started in the background, where SIGINT is ignored
    with Nginx(http_port=args.http_port, https_port=args.https_port) as n:
        if args.cert_out:
            shutil.copyfile(n.cert_file, args.cert_out)
        print(f"nginx on {n.url('/', tls=False)} and {n.url('/', tls=True)} (files in {n.dir}); Ctrl-C stops it",
              flush=True)
        try:
            n.proc.wait()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
