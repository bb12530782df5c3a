"""wrk's report (wrk run with --latency) and the durations wrk and h2load print, read the same way by
compare_wrk.sh and summarize.py."""
import re


def ms(text):
    """A duration as wrk and h2load print it ("812.00us", "1.20ms", "8.00s", "2.00m"), in milliseconds."""
    m = re.match(r"([\d.]+)(us|ms|s|m)$", text)
    return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[m.group(2)]


def parse(text):
    """wrk's report: (requests, seconds, p50 ms, p99 ms, errors). `requests` is wrk's own count, failed
    requests included; `errors` are its socket errors plus the non-2xx/3xx responses."""
    m = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m),", text)
    requests, seconds = int(m.group(1)), ms(m.group(2) + m.group(3)) / 1000.0
    lat = dict(re.findall(r"^\s+(50|99)(?:\.0+)?%\s+(\S+)$", text, re.M))
    errors = 0
    for m in re.finditer(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text):
        errors += sum(int(g) for g in m.groups())
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if m:
        errors += int(m.group(1))
    return requests, seconds, ms(lat["50"]), ms(lat["99"]), errors
