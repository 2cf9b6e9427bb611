"""Processes for the proxy's end-to-end tests over real UDP on loopback (docs/environment.md: multicast with
IP_MULTICAST_IF 127.0.0.1 and joins on 127.0.0.1): the server (python -m tools.server), the proxy
(python -m tools.proxy, with --trace), boards (the firmware client under the MicroPython unix port)
and a tiny CPython requester. Every process is started in its own session and stopped by its pid."""
import json
import os
import queue
import random
import signal
import socket
import subprocess
import sys
import threading
import time

from helpers import ROOT, micropython_bin, micropython_env, free_port  # noqa: F401

from coap import msg

BOARD = r'''
import sys, coapcast
from coap.compat import ticks_ms, ticks_diff
pport, uri, want, limit = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
got = []
def cb(p, cf, v, via):
    got.append(v)
    print("notif", v, cf, via, bytes(p).hex())
def end(o, why):
    print("ended", why)
c = coapcast.Client("127.0.0.1", 0, iface="127.0.0.1")
o = c.observe(uri, cb, end, proxy=("127.0.0.1", pport))
print("token", bytes(o.token).hex())
t0 = ticks_ms()
while len(got) < want and o.state != 4 and ticks_diff(ticks_ms(), t0) < limit:
    c.service(20)
s = c.stats
print("done", o.state, len(c.mc), s.received, s.delivered, s.duplicates, s.reordered, sum(s.dropped.values()))
'''


class Proc:
    """A child process whose output lines are collected by a thread."""

    def __init__(self, argv, env=None):
        self.p = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True, start_new_session=True)
        self.lines = []
        self.q = queue.Queue()
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for line in self.p.stdout:
            self.lines.append(line.rstrip("\n"))
            self.q.put(line)
        self.q.put(None)

    def wait_for(self, text, timeout=15.0):
        """The first output line containing text (waits for it)."""
        end = time.time() + timeout
        seen = 0
        while time.time() < end:
            for ln in self.lines[seen:]:
                if text in ln:
                    return ln
            seen = len(self.lines)
            if self.p.poll() is not None and seen == len(self.lines):
                time.sleep(0.05)
                if not any(text in ln for ln in self.lines):
                    raise AssertionError("exited (%s) without %r:\n%s" % (self.p.returncode, text, self.out()[-3000:]))
            time.sleep(0.02)
        raise AssertionError("no %r within %g s:\n%s" % (text, timeout, self.out()[-3000:]))

    def grep(self, key):
        return [ln.split()[1:] for ln in self.lines if ln.startswith(key + " ")]

    def out(self):
        return "\n".join(self.lines)

    def stop(self, sig=signal.SIGINT, timeout=15):
        if self.p.poll() is None:
            os.kill(self.p.pid, sig)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.p.pid, signal.SIGKILL)
                self.p.wait(5)
        self.t.join(5)
        return self.p.returncode


def stop(*procs):
    """Stop, in this order, the processes that were started (None: one that never was)."""
    for p in procs:
        if p is not None:
            p.stop()


def outputs(first, **others):
    """The output of `first`, then the last 4000 characters of each of `others` under "--- name ---":
    the message of a failing assertion."""
    return first.out() + "".join("\n--- %s ---\n%s" % (k, p.out()[-4000:]) for k, p in others.items())


def no_traceback(first, **others):
    """Asserts that none of the processes printed a Traceback. Returns outputs(first, **others)."""
    out = outputs(first, **others)
    assert not any("Traceback" in p.out() for p in (first,) + tuple(others.values())), out
    return out


def group_addr():
    """A group address of our own for a test (no two tests share one)."""
    return "233.252.%d.%d" % (random.randrange(1, 250), random.randrange(1, 250))


def joined(group):
    """True if some socket on this host has joined `group` (IPv4) on an interface (/proc/net/igmp)."""
    want = "%02X%02X%02X%02X" % tuple(reversed([int(x) for x in group.split(".")]))
    with open("/proc/net/igmp") as f:
        return any(ln.split()[0] == want for ln in f if ln.startswith("\t\t\t\t"))


def server(port, group, gport, *extra):
    p = Proc([sys.executable, "-m", "tools.server", "--bind", "127.0.0.1", "--port", str(port), "--group", group,
              "--group-port", str(gport), "--mc-if", "127.0.0.1", "--no-builtins", "--group-resource", "/r=0",
              "--interval", "0.05", "--status-every", "0"] + list(extra))
    p.wait_for("listening on")
    return p


def proxy(port, *extra):
    p = Proc([sys.executable, "-m", "tools.proxy", "--bind", "127.0.0.1", "--port", str(port),
              "--status-every", "0"] + list(extra))
    p.wait_for("proxy listening on")
    return p


def board(script, pport, uri, want, limit_ms):
    return Proc([micropython_bin(), "-X", "heapsize=192k", str(script), str(pport), uri, str(want), str(limit_ms)],
                env=micropython_env())


def request(dest, code, opts, payload=b"", timeout=3.0):
    """One CON request from a CPython socket; the (piggybacked or separate) response, decoded."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(0.5)
    mid = random.randrange(0x10000)
    buf = msg.encode(msg.CON, code, mid, b"\x99", opts, payload)
    end = time.time() + timeout
    try:
        s.sendto(buf, dest)
        while time.time() < end:
            try:
                data, src = s.recvfrom(2048)
            except socket.timeout:
                s.sendto(buf, dest)
                continue
            m = msg.decode(data)
            if m.code == 0:
                continue
            if m.type == msg.CON:
                s.sendto(msg.empty(msg.ACK, m.mid), src)
            return m
    finally:
        s.close()
    raise AssertionError("no answer from %r" % (dest,))


def stepper(steps, figure):
    """expect(pred, what, start) -> (index, step): the first step of a trace() from `start` on where
    pred(dir, peer, group, Msg) holds; else an AssertionError naming the figure's step, with the trace."""
    def expect(pred, what, start):
        for k in range(start, len(steps)):
            if pred(*steps[k]):
                return k, steps[k]
        raise AssertionError("%s step not found after #%d: %s\n%s" % (figure, start, what, "\n".join(
            "%s %s %s %s %s" % (d, p, g, msg.code_str(m.code), m.items()) for d, p, g, m in steps)))
    return expect


def trace(path):
    """The proxy's --trace file: [(dir, peer, group, Msg)]."""
    out = []
    with open(path) as f:
        for ln in f:
            r = json.loads(ln)
            out.append((r["dir"], tuple(r["peer"]), tuple(r["group"]) if r["group"] else None,
                        msg.decode(bytes.fromhex(r["data"]))))
    return out
