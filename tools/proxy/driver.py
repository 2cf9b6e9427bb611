"""The thin asyncio driver around ProxyCore: ONE UDP socket for clients and servers (the proxy's
PRX_ADDR:PRX_PORT), one socket per group the core needs (joined with coap.driver.join, the board's
own; closed, hence left, as soon as the core stops using the group), the clock and the timer.
Name resolution for Proxy-Uri hosts is here too (a static table, optionally the system resolver)."""
import asyncio
import json
import logging
import socket

from coap import addr
from coap import driver as fwdriver
from tools.coreloop import CoreLoop
from tools.util import drain, now_ms

log = logging.getLogger("coapcast.proxy")


class Names:
    """resolve(name) -> (address, port or None) or None: `table` {name: (address, port|None)} first,
    then (dns=True) the system resolver, cached. IP literals never come here."""

    def __init__(self, table=None, dns=False):
        self.table = dict(table or {})
        self.dns = dns

    def __call__(self, name):
        hit = self.table.get(name)
        if hit is not None or not self.dns:
            return hit
        try:
            info = socket.getaddrinfo(name, None, 0, socket.SOCK_DGRAM)
        except (OSError, UnicodeError):
            return None
        if not info:
            return None
        self.table[name] = (info[0][4][0].split("%")[0], None)
        return self.table[name]


class _Proto(asyncio.DatagramProtocol):
    def __init__(self, drv, group):
        self.drv = drv
        self.group = group

    def datagram_received(self, data, src):
        self.drv.feed(data, src, self.group)

    def error_received(self, exc):  # e.g. ICMP port unreachable from a client that went away
        self.drv.socket_errors += 1
        log.debug("socket error: %s", exc)


class ProxyDriver(CoreLoop):
    def __init__(self, core, bind=("0.0.0.0", 5683), mc_if=None, ifindex=0, status_every=10.0, on_send=None,
                 trace=None):
        self.core = core
        self.trace = trace              # a text file: one JSON line per datagram in and out (tests, debugging)
        self.bind = bind
        if mc_if is None:
            mc_if = "127.0.0.1" if bind[0].startswith("127.") else "0.0.0.0"  # loopback: docs/environment.md
        self.mc_if = mc_if
        self.ifindex = ifindex
        self.status_every = status_every
        self.on_send = on_send          # callback(buf, dst) (tests, benchmarks)
        self.transport = None
        self.mc = {}                    # (GRP_ADDR, GRP_PORT) -> transport
        self.socket_errors = 0
        self.join_errors = 0
        self._timer = None
        self._status = None

    @property
    def port(self):
        return self.transport.get_extra_info("sockname")[1]

    async def start(self):
        loop = asyncio.get_running_loop()
        s = socket.socket(socket.AF_INET6 if ":" in self.bind[0] else socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(self.bind)
        s.setblocking(False)
        self.transport, _ = await loop.create_datagram_endpoint(lambda: _Proto(self, None), sock=s)
        log.info("proxy listening on %s:%d%s", self.bind[0], self.port,
                 " (next hop %s:%d)" % self.core.cfg.next_hop if self.core.cfg.next_hop else "")
        if self.status_every:
            self._status = loop.call_later(self.status_every, self._status_line)
        return self

    def feed(self, data, src, group):
        src = addr.norm(src)
        if self.trace is not None:
            self._trace("in", src, group, data)
        self.core.receive(data, src, now_ms(), group)
        self.flush()

    def _trace(self, way, peer, group, data):
        self.trace.write(json.dumps({"t": now_ms(), "dir": way, "peer": list(peer),
                                     "group": list(group) if group else None, "data": bytes(data).hex()}) + "\n")
        self.trace.flush()

    def sending(self, buf, dst):
        CoreLoop.sending(self, buf, dst)
        if self.trace is not None:
            self._trace("out", dst, None, buf)

    def flush(self):
        # the groups first: joined before the informative response that goes out now reaches the
        # client (the first multicast notification may follow at once); left once nobody uses them
        self.sync_groups()
        CoreLoop.flush(self)

    def sync_groups(self):
        """Join the groups the core needs, leave the others (closing the socket drops the membership)."""
        want = list(self.core.groups)
        loop = asyncio.get_running_loop()
        for g in want:
            if g in self.mc:
                continue
            try:
                s = fwdriver.join(g, self.mc_if, self.ifindex)
                s.setblocking(False)
            except OSError as e:
                self.join_errors += 1
                log.warning("cannot join %s:%d: %s", g[0], g[1], e)
                # the core ends what needed it (its clients are told why) and stops asking for it
                self.core.join_failed(g, e.strerror or str(e), now_ms())
                continue
            self.mc[g] = _GroupSocket(self, s, g, loop)
            log.info("joined %s:%d", g[0], g[1])
        want = self.core.groups
        for g in list(self.mc):
            if g not in want:
                self.mc.pop(g).close()
                log.info("left %s:%d", g[0], g[1])

    def _status_line(self):
        st = self.core.status()
        s = st["stats"]
        log.info("status: %d targets, %d observers, groups %s | rx %d tx %d notif in %d out %d | bad %d",
                 len(st["targets"]), sum(t["observers"] for t in st["targets"]), ",".join(st["groups"]) or "-",
                 s["rx"], s["tx"], s["notifications_in"], s["notifications_out"],
                 sum(s[k] for k in ("malformed", "bad_request", "unsafe_option", "unsupported_scheme", "not_proxied")))
        self._status = asyncio.get_running_loop().call_later(self.status_every, self._status_line)

    # stop() (CoreLoop): tell the observers, deregister upstream, then leave every group and close
    def closing(self):
        for g in list(self.mc):
            self.mc.pop(g).close()


class _GroupSocket:
    """A joined group socket read through the event loop (add_reader: no second transport layer)."""

    def __init__(self, drv, sock, group, loop):
        self.sock = sock
        self.loop = loop
        loop.add_reader(sock.fileno(), self._read, drv, group)

    def _read(self, drv, group):
        for data, src in drain(self.sock):
            drv.feed(data, src, group)

    def close(self):
        try:
            self.loop.remove_reader(self.sock.fileno())
        except (ValueError, OSError):
            pass
        self.sock.close()
