"""On-path UDP relay and PM probe (draft-ietf-core-coap-pm §4.1: a probe reads Q/S or C on the path).

Clients send to the relay; for each client the relay opens its own upstream socket to the server, so
the server sees one peer per client. Each direction can be impaired (the kernel here has no netem):
seeded loss %, fixed delay, uniform jitter, and reordering (a share of packets held back a little
longer so later ones overtake them). The probe reads the PM option of every datagram it forwards,
after the impairment (it sees the path between the sender and itself), with one Meter per client and
direction. Reports: a periodic line per flow, and a JSON summary (summary(), --json FILE).

  python -m tools.relay --listen 127.0.0.1:5684 --server 127.0.0.1:5683 --loss 5 --delay 50 \\
      [--jitter 0] [--reorder 0] [--reorder-ms 5] [--seed 1] [--n 64] [--x 0] [--t-max 1000] \\
      [--report 5] [--duration 0] [--json out.json]
127.0.0.1 only: the relay refuses other addresses.
"""
import asyncio
import json
import os
import random
import socket

from coap import msg, pm
from coap.pmmeasure import Meter
from tools.util import drain, now_ms

UP = 0    # client -> server
DOWN = 1  # server -> client


class Impairment:
    """Per-direction path model: returns None (drop) or the delay in seconds for one datagram."""

    def __init__(self, loss=0.0, delay=0.0, jitter=0.0, reorder=0.0, reorder_ms=5.0, rng=None):
        self.loss = loss / 100.0
        self.delay = delay / 1000.0
        self.jitter = jitter / 1000.0
        self.reorder = reorder / 100.0
        self.reorder_s = reorder_ms / 1000.0
        self.rng = rng or random.Random(1)

    def __call__(self):
        r = self.rng
        if self.loss and r.random() < self.loss:
            return None
        d = self.delay
        if self.jitter:
            d += r.random() * self.jitter
        if self.reorder and r.random() < self.reorder:
            d += self.reorder_s
        return d


class Flow:
    """One client: its upstream socket, counters and a Meter per direction."""

    def __init__(self, client, sock, n, x, t_max, ring):
        self.client = client
        self.sock = sock
        self.meters = (Meter(n, x, t_max, ring=ring), Meter(n, x, t_max, ring=ring))
        self.rx = [0, 0]
        self.dropped = [0, 0]
        self.fwd = [0, 0]
        self.not_coap = [0, 0]

    def summary(self, samples=False):
        try:
            up = "%s:%d" % self.sock.getsockname()[:2]
        except OSError:   # closed
            up = None
        out = {"client": "%s:%d" % self.client, "upstream": up}  # upstream: the server sees the client there
        for d, name in ((UP, "up"), (DOWN, "down")):
            s = self.meters[d].summary(samples)
            s["relay_rx"] = self.rx[d]
            s["relay_dropped"] = self.dropped[d]
            s["relay_fwd"] = self.fwd[d]
            s["true_loss_pct"] = (100.0 * self.dropped[d] / self.rx[d]) if self.rx[d] else None
            s["not_coap"] = self.not_coap[d]
            out[name] = s
        return out


def _check_local(host):
    if host != "127.0.0.1":
        raise ValueError("the relay only runs on 127.0.0.1 (got %r)" % (host,))


class Relay:
    """The relay on one asyncio loop. start() binds; close() releases every socket."""

    def __init__(self, server, listen=("127.0.0.1", 0), loss=0.0, delay=0.0, jitter=0.0, reorder=0.0,
                 reorder_ms=5.0, seed=1, n=64, x=0, t_max=1000, ring=16, loss_down=None, delay_down=None,
                 max_flows=1024):
        _check_local(server[0])
        _check_local(listen[0])
        self.server = server
        self.listen = listen
        rng = random.Random(seed)
        self.imp = (Impairment(loss, delay, jitter, reorder, reorder_ms, random.Random(rng.random())),
                    Impairment(loss if loss_down is None else loss_down, delay if delay_down is None else delay_down,
                               jitter, reorder, reorder_ms, random.Random(rng.random())))
        self.n, self.x, self.t_max, self.ring = n, x, t_max, ring
        self.flows = {}
        self.max_flows = max_flows
        self.refused = 0
        self.sock = None
        self.loop = None
        self.m = msg.Msg()

    @property
    def addr(self):
        return self.sock.getsockname()

    def start(self, loop=None):
        self.loop = loop or asyncio.get_event_loop()
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setblocking(False)
        s.bind(self.listen)
        self.sock = s
        self.loop.add_reader(s.fileno(), self._from_clients)
        return self

    def close(self):
        for f in self.flows.values():
            self.loop.remove_reader(f.sock.fileno())
            f.sock.close()
        if self.sock:
            self.loop.remove_reader(self.sock.fileno())
            self.sock.close()
            self.sock = None

    def _flow(self, client):
        f = self.flows.get(client)
        if f is None:
            if len(self.flows) >= self.max_flows:
                self.refused += 1
                return None
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.setblocking(False)
            u.bind(("127.0.0.1", 0))
            u.connect(self.server)
            f = Flow(client, u, self.n, self.x, self.t_max, self.ring)
            self.flows[client] = f
            self.loop.add_reader(u.fileno(), self._from_server, f)
        return f

    def _from_clients(self):
        for data, src in drain(self.sock):
            f = self._flow(src)
            if f is not None:
                self._impair(f, UP, data)

    def _from_server(self, f):
        for data, _ in drain(f.sock):   # ends on ICMP port unreachable from a server that is gone too
            self._impair(f, DOWN, data)

    def _impair(self, f, d, data):
        f.rx[d] += 1
        delay = self.imp[d]()
        if delay is None:
            f.dropped[d] += 1
            return
        if delay <= 0:
            self._forward(f, d, data)
        else:
            self.loop.call_later(delay, self._forward, f, d, data)

    def _forward(self, f, d, data):
        # the probe: what crosses this point of the path
        m = self.m
        try:
            m.decode(data)
            v = pm.value_of(m)
            if v is not None:
                f.meters[d].rx(v, now_ms())
            elif m.code:  # empty ACK/RST carry no options: not part of the marked flow
                f.meters[d].rx(None, now_ms())
        except msg.DecodeError:
            f.not_coap[d] += 1
        try:
            if d == UP:
                f.sock.send(data)
            else:
                self.sock.sendto(data, f.client)
            f.fwd[d] += 1
        except OSError:
            pass

    def summary(self, samples=False):
        return {"listen": "%s:%d" % self.addr if self.sock else None, "server": "%s:%d" % self.server,
                "flows": [f.summary(samples) for f in self.flows.values()], "refused": self.refused}

    def lines(self):
        out = []
        for f in self.flows.values():
            for d, name in ((UP, "up"), (DOWN, "down")):
                lab = "%s:%d %s" % (f.client[0], f.client[1], name)
                out.append("%s dropped=%d/%d" % (f.meters[d].line(lab), f.dropped[d], f.rx[d]))
        return out


def parser():
    """The relay's CLI: every value checked here (tools.cli types: one line, exit 2, before anything starts)."""
    from tools import cli
    num = cli.number
    pct = num(0, 100, what="a percentage 0..100")
    ap = cli.Parser(prog="python -m tools.relay", description=__doc__.splitlines()[0])
    ap.add_argument("--listen", type=cli.hostport(zero="any free port"), default=("127.0.0.1", 5684),
                    help="127.0.0.1:PORT (5684; 0: any free port)")
    ap.add_argument("--server", type=cli.hostport(), default=("127.0.0.1", 5683), help="127.0.0.1:PORT (5683)")
    ap.add_argument("--loss", type=pct, default=0.0, help="loss %% on each direction")
    ap.add_argument("--loss-down", type=pct, default=None, help="loss %% server->client (default --loss)")
    ap.add_argument("--delay", type=num(0), default=0.0, help="added one-way delay in ms, each direction")
    ap.add_argument("--jitter", type=num(0), default=0.0, help="extra uniform delay 0..J ms")
    ap.add_argument("--reorder", type=pct, default=0.0, help="%% of packets held back --reorder-ms")
    ap.add_argument("--reorder-ms", type=num(0), default=5.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--n", type=num(2, None, True), default=64, help="PM block length (as the endpoints)")
    ap.add_argument("--x", type=num(0, None, True), default=0, help="reordering tolerance (< n/2; 0: n/16)")
    ap.add_argument("--t-max", type=num(1, None, True), default=1000)
    ap.add_argument("--report", type=num(0), default=5.0, help="seconds between report lines (0: none)")
    ap.add_argument("--duration", type=num(0), default=0.0, help="stop after this many seconds (0: run)")
    ap.add_argument("--json", default=None, help="write the JSON summary here at exit")
    cli.add_option_numbers(ap)    # the probe reads the PM option: its number as the endpoints use it
    return ap


def main(argv=None):
    ap = parser()
    a = ap.parse_args(argv)
    if a.x and 2 * a.x >= a.n:
        ap.fail("--x %d: expected a reordering tolerance < --n / 2 (%d)" % (a.x, a.n))
    for opt, (h, _) in (("--listen", a.listen), ("--server", a.server)):
        try:
            _check_local(h)
        except ValueError as e:
            ap.fail("%s: %s" % (opt, e))
    if a.json and not os.path.isdir(os.path.dirname(os.path.abspath(a.json))):
        ap.fail("--json %s: no such directory" % a.json)
    from tools import cli
    try:
        cli.configure_option_numbers(a)
    except ValueError as e:
        ap.fail(str(e))
    r = Relay(a.server, a.listen, a.loss, a.delay, a.jitter, a.reorder, a.reorder_ms,
              a.seed, a.n, a.x, a.t_max, loss_down=a.loss_down)
    try:
        r.start(asyncio.new_event_loop())
    except OSError as e:
        ap.fail("cannot listen on %s:%d: %s" % (a.listen + (e.strerror or e,)), 1)
    loop = r.loop
    asyncio.set_event_loop(loop)
    print("relay: %s:%d -> %s:%d" % (r.addr + r.server), flush=True)

    async def reporter():
        while True:
            await asyncio.sleep(a.report)
            for line in r.lines():
                print(line, flush=True)

    import signal
    try:
        loop.add_signal_handler(signal.SIGTERM, loop.stop)
    except (NotImplementedError, RuntimeError):
        pass
    tasks = []
    if a.report > 0:
        tasks.append(loop.create_task(reporter()))
    try:
        if a.duration > 0:
            loop.run_until_complete(asyncio.sleep(a.duration))
        else:
            loop.run_forever()
    except (KeyboardInterrupt, RuntimeError):  # Ctrl-C, or SIGTERM stopped the loop early
        pass
    finally:
        for t in tasks:
            t.cancel()
        for line in r.lines():
            print(line, flush=True)
        if a.json:
            with open(a.json, "w") as fh:
                json.dump(r.summary(), fh, indent=1)
        r.close()
        loop.close()


if __name__ == "__main__":
    main()
