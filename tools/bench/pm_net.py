"""PM test endpoints on real UDP (127.0.0.1) for bench_pm: a CoAP server answering every request with
a PM-marked 2.05, and clients sending PM-marked NON POSTs, one at a time (window=1: NSTART=1, the
S bit's period is the RTT) or every `interval` ms (the C bit needs several packets per RTT).
Both use the foundation codec and coap.pm.PMEndpoint exactly as the product cores do.
"""
import asyncio
import socket
import time

from coap import msg, options, pm
from tools.util import drain, now_ms


class Server:
    def __init__(self, loop, pattern=0, n=64, x=0, t_max=1000, ring=32):
        self.loop = loop
        self.pm = pm.PMEndpoint("server", pattern=pattern, n=n, x=x, t_max=t_max, max_peers=4096, ring=ring)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setblocking(False)
        self.sock.bind(("127.0.0.1", 0))
        self.addr = self.sock.getsockname()
        self.m = msg.Msg()
        self.bad = 0
        loop.add_reader(self.sock.fileno(), self._rx)

    def _rx(self):
        for data, src in drain(self.sock):
            m = self.m
            try:
                m.decode(data)
            except msg.DecodeError:
                self.bad += 1
                continue
            t = now_ms()
            v = pm.value_of(m)
            self.pm.rx(src, v, t)
            if not msg.is_request(m.code):
                continue
            pv = self.pm.tx(src, t, v)
            opts = [(options.PM, pv)] if pv is not None else []
            out = msg.encode(msg.NON, msg.CONTENT, m.mid, m.token_bytes(), opts, b"ok")
            try:
                self.sock.sendto(out, src)
            except OSError:
                pass

    def close(self):
        self.loop.remove_reader(self.sock.fileno())
        self.sock.close()


class Client:
    """count requests to target; window=1 (next on response or timeout) or interval ms (periodic)."""

    def __init__(self, loop, target, pattern=0, n=64, x=0, t_max=1000, count=1000, interval=0,
                 timeout=0.5, ring=32, use_pm=True):
        self.loop = loop
        self.target = target
        self.pm = pm.PMEndpoint("client", pattern=pattern, n=n, x=x, t_max=t_max, ring=ring) if use_pm else None
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setblocking(False)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.connect(target)
        self.count = count
        self.interval = interval
        self.timeout = timeout
        self.sent = 0
        self.received = 0
        self.cur = -1
        self.t_sent = {}
        self.app_rtt = []   # request -> response times in ms (the "true" RTT seen by the application)
        self.m = msg.Msg()
        self.done = loop.create_future()
        self._timer = None
        loop.add_reader(self.sock.fileno(), self._rx)

    def start(self):
        if self.interval:
            self._tick()
        else:
            self._send()

    def _tick(self):
        if self.sent < self.count:
            self._send()
            self._timer = self.loop.call_later(self.interval / 1000.0, self._tick)
        else:
            self._timer = self.loop.call_later(self.timeout, self._finish)

    def _send(self):
        k = self.sent
        self.sent += 1
        tok = k.to_bytes(3, "big")
        t = time.monotonic()
        opts = []
        if self.pm is not None:
            opts = [(options.PM, self.pm.tx(self.target, int(t * 1000)))]
        data = msg.encode(msg.NON, msg.POST, k & 0xFFFF, tok, opts, b"x")
        self.t_sent[k] = t
        self.cur = k
        try:
            self.sock.send(data)
        except OSError:
            pass
        if not self.interval:
            self._timer = self.loop.call_later(self.timeout, self._expire, k)

    def _expire(self, k):
        if k == self.cur:
            self.t_sent.pop(k, None)
            self._next()

    def _next(self):
        if self._timer is not None:
            self._timer.cancel()
        if self.sent < self.count:
            self._send()
        else:
            self._finish()

    def _finish(self):
        if not self.done.done():
            self.done.set_result(True)

    def _rx(self):
        for data, _ in drain(self.sock):
            t = time.monotonic()
            m = self.m
            try:
                m.decode(data)
            except msg.DecodeError:
                continue
            if self.pm is not None:
                self.pm.rx(self.target, pm.value_of(m), int(t * 1000))
            k = int.from_bytes(m.token_bytes(), "big")
            t0 = self.t_sent.pop(k, None)
            if t0 is None:
                continue
            self.received += 1
            self.app_rtt.append((t - t0) * 1000.0)
            if not self.interval and k == self.cur:
                self._next()

    def close(self):
        if self._timer is not None:
            self._timer.cancel()
        self.loop.remove_reader(self.sock.fileno())
        self.sock.close()
