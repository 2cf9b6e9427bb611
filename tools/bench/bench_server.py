# Desktop server figures (issue 4), side by side in one run:
#  1. cost per resource update with 1/10/100/1000 observers: datagrams, bytes and server CPU
#     of this server (group observation: one multicast notification) vs an aiocoap server doing
#     traditional observation for the same observers (one unicast notification each);
#  2. registrations handled per second (informative responses sent);
#  3. rough counting: relative error after rounds 1, 3, 5 and confirmations per round.
# Everything on 127.0.0.1 (multicast with IP_MULTICAST_IF 127.0.0.1, docs/environment.md).
import os
import random
import selectors
import socket
import statistics
import subprocess
import sys
import threading
import time

from coap import msg
from coap import options as o
from tools.util import ROOT, free_port, group_socket

HERE = os.path.dirname(os.path.abspath(__file__))

GROUP = "224.0.1.187"
UPDATES = 100
TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK   # utime + stime


def start(cmd, port):
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
    end = time.monotonic() + 15
    while time.monotonic() < end:
        if not selectors.select.select([p.stdout], [], [], max(end - time.monotonic(), 0))[0]:
            break
        line = p.stdout.readline()
        if "listening" in line:
            threading.Thread(target=p.stdout.read, daemon=True).start()   # keep the pipe drained
            return p
        if not line and p.poll() is not None:
            break
    p.kill()
    raise RuntimeError("server did not start: %s" % cmd)


def ours(port, gport):
    return start([sys.executable, "-m", "tools.server", "--bind", "127.0.0.1", "--port", str(port), "--no-builtins",
                  "--group-resource", "/r=0", "--group", GROUP, "--group-port", str(gport), "--mc-if", "127.0.0.1",
                  "--interval", "0", "--status-every", "0", "--log-level", "WARNING"], port)


def reference(port):
    return start([sys.executable, os.path.join(HERE, "aiocoap_obs_server.py"), str(port)], port)


def drain(sel, quiet=0.3, limit=20.0):
    """Read every socket until nothing arrives for `quiet` s. Returns (datagrams, bytes)."""
    n = b = 0
    end = time.monotonic() + limit
    while time.monotonic() < end:
        ev = sel.select(quiet)
        if not ev:
            break
        for key, _ in ev:
            try:
                while True:
                    d = key.fileobj.recv(2048)
                    n += 1
                    b += len(d)
            except BlockingIOError:
                pass
    return n, b


def put(ctl, dst, mid, value):
    ctl.sendto(msg.encode(msg.CON, msg.PUT, mid, b"\x99", [(o.URI_PATH, "r")], value), dst)
    end = time.monotonic() + 5
    while time.monotonic() < end:
        d = ctl.recv(2048)
        m = msg.decode(d)
        if m.type == msg.ACK and m.mid == mid:
            return m.code
    raise RuntimeError("PUT not acknowledged")


def update_cost(kind, k):
    """(datagrams/update, bytes/update, server CPU ms/update) with k observers."""
    port, gport = free_port(), free_port()
    p = ours(port, gport) if kind == "group" else reference(port)
    dst = ("127.0.0.1", port)
    obs, sel, rx = [], selectors.DefaultSelector(), None
    try:
        for i in range(k):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            s.setblocking(False)
            obs.append(s)
            sel.register(s, selectors.EVENT_READ)
        for i, s in enumerate(obs):
            s.sendto(msg.encode(msg.NON, msg.GET, i + 1, b"\x01", [(o.OBSERVE, 0), (o.URI_PATH, "r")]), dst)
            if i % 50 == 49:
                time.sleep(0.01)
        drain(sel)                                   # the k responses to the registrations
        msel = selectors.DefaultSelector()
        if kind == "group":
            rx = group_socket(GROUP, gport, 0.0)
            msel.register(rx, selectors.EVENT_READ)
        ctl = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        ctl.bind(("127.0.0.1", 0))
        ctl.settimeout(5)
        c0 = cpu_s(p.pid)
        n = b = 0
        for u in range(UPDATES):
            put(ctl, dst, u + 1, b"%d" % u)
            if kind == "group":
                dn, db = drain(msel, 0.02)
                un, ub = drain(sel, 0.0)             # observers get nothing by unicast
                n, b = n + dn + un, b + db + ub
            else:
                dn, db = drain(sel, 0.02)
                n, b = n + dn, b + db
        time.sleep(0.2)
        c1 = cpu_s(p.pid)
        dn, db = drain(msel if kind == "group" else sel, 0.3)
        n, b = n + dn, b + db
        ctl.close()
        return n / UPDATES, b / UPDATES, 1000 * (c1 - c0) / UPDATES
    finally:
        p.kill()
        p.wait()
        for s in obs:
            s.close()
        if rx is not None:
            rx.close()


def registrations_udp(kind, total=3000, window=64):
    """Registrations answered per second over UDP (informative responses for `group`)."""
    port, gport = free_port(), free_port()
    p = ours(port, gport) if kind == "group" else reference(port)
    dst = ("127.0.0.1", port)
    socks = []
    try:
        for i in range(total // window + 1):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            s.settimeout(2)
            socks.append(s)
        got = 0
        t0 = time.perf_counter()
        sent = 0
        for s in socks:
            batch = min(window, total - sent)
            for j in range(batch):
                s.sendto(msg.encode(msg.NON, msg.GET, j + 1, b"\x01" + bytes([j]),
                                    [(o.OBSERVE, 0), (o.URI_PATH, "r")]), dst)
            sent += batch
            for j in range(batch):
                try:
                    s.recv(2048)
                    got += 1
                except socket.timeout:
                    break
            if sent >= total:
                break
        dt = time.perf_counter() - t0
        return got / dt, got
    finally:
        p.kill()
        p.wait()
        for s in socks:
            s.close()


def registrations_core(total=20000):
    from tools.server.core import ServerCore, Config
    from tools.server.resources import Resource
    core = ServerCore([Resource("/r", "0", group_after=1)], Config(srv_addr="127.0.0.1", dedup_max=total + 1),
                      rng=random.Random(1))
    regs = [msg.encode(msg.NON, msg.GET, i & 0xFFFF, b"\x01", [(o.OBSERVE, 0), (o.URI_PATH, "r")]) for i in range(total)]
    t0 = time.perf_counter()
    for i, r in enumerate(regs):
        core.receive(r, ("127.0.0.1", 1024 + i), 0)
        core.take()
    dt = time.perf_counter() - t0
    return total / dt, core.status()["stats"]["informative"]


def update_core_us(k=1000):
    """In-process: µs per resource update for the group core (independent of k)."""
    from tools.server.core import ServerCore, Config
    from tools.server.resources import Resource
    core = ServerCore([Resource("/r", "0", group_after=1, writable=True)],
                      Config(srv_addr="127.0.0.1", notify_interval_ms=0), rng=random.Random(1))
    for i in range(k):
        core.receive(msg.encode(msg.NON, msg.GET, 1, b"\x01", [(o.OBSERVE, 0), (o.URI_PATH, "r")]),
                     ("127.0.0.1", 2000 + i), 0)
    core.take()
    t0 = time.perf_counter()
    for u in range(5000):
        core.update("/r", b"%d" % u, u + 1)
        core.take()
    return (time.perf_counter() - t0) / 5000 * 1e6


def counting():
    from tools.sim_counting import simulate
    rows = []
    for n in (10, 1000, 100000):
        for loss in (0.0, 0.1):
            runs = [simulate(n, loss, 5, seed=s) for s in range(5)]
            err = [statistics.mean(abs(r[i]["err"]) for r in runs) for i in (0, 2, 4)]
            conf = statistics.mean(x["R"] for r in runs for x in r)
            rows.append((n, loss, err, conf))
    return rows


def run():
    print("== server: cost per resource update (%d PUTs), group observation (this server) vs aiocoap traditional"
          % UPDATES)
    print("  %-10s %22s %22s %24s" % ("observers", "datagrams/update", "bytes/update", "server CPU ms/update"))
    print("  %-10s %11s %10s %11s %10s %12s %11s" % ("", "group", "aiocoap", "group", "aiocoap", "group", "aiocoap"))
    for k in (1, 10, 100, 1000):
        try:
            g = update_cost("group", k)
            a = update_cost("aiocoap", k)
            print("  %-10d %11.1f %10.1f %11.1f %10.1f %12.2f %11.2f" % (k, g[0], a[0], g[1], a[1], g[2], a[2]))
        except Exception as e:  # a figure missing, not a crash of `make bench`
            print("  %-10d failed: %s" % (k, e))
    print("  (CPU includes handling the PUT itself; /proc tick = %.0f ms)" % (1000 / TICK))
    print("  in-process group core: %.1f us per update with 1000 observers (target: flat in observers)"
          % update_core_us(1000))
    print("== server: registrations per second")
    r, n = registrations_core()
    print("  sans-I/O core, NON registrations -> informative responses: %8.0f /s (%d sent)" % (r, n))
    for kind in ("group", "aiocoap"):
        try:
            r, n = registrations_udp(kind)
            print("  UDP, %-7s (%s): %8.0f /s (%d answered)" % (
                kind, "5.03 informative" if kind == "group" else "2.05 + observation", r, n))
        except Exception as e:
            print("  UDP, %s failed: %s" % (kind, e))
    print("== server: rough counting (M=32, D=4, counter starts at N; mean |error| over 5 seeds)")
    print("  %-8s %5s %9s %9s %9s %14s   target" % ("N", "loss", "round 1", "round 3", "round 5", "confirm/round"))
    for n, loss, err, conf in counting():
        print("  %-8d %4.0f%% %8.1f%% %8.1f%% %8.1f%% %14.1f   %s" % (
            n, loss * 100, 100 * err[0], 100 * err[1], 100 * err[2], conf,
            "<= 10% by round 5" if loss == 0 else "(loss skews low, §5.2.3)"))


if __name__ == "__main__":
    run()
