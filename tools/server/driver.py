# The thin asyncio driver around ServerCore: ONE UDP socket serves unicast and sends the
# multicast notifications, so they leave from SRV_ADDR:SRV_PORT (draft §2.3). Multicast
# interface, TTL / hop limit and loop are socket options here, nowhere else. The server never
# shares its port: no SO_REUSEADDR (another server on SRV_PORT would take part of its unicast
# traffic; the server receives no multicast, so it needs no shared group-port socket).
# What the sans-I/O core cannot know comes from here: the clock (tools.util.now_ms), and the
# server's own address towards a peer (SRV_ADDR for tp_info when bound to the wildcard).
import asyncio
import errno
import logging
import socket
import struct
import time

from tools.coreloop import CoreLoop
from tools.util import now_ms

log = logging.getLogger("coapcast.server")


def _is_v6(host):
    return ":" in host


def make_socket(bind=("0.0.0.0", 5683), mc_if=None, mc_ttl=1, mc_loop=True):
    """A bound UDP socket set up for multicast sending. mc_if: IPv4 interface address
    (e.g. "127.0.0.1" on loopback, see docs/environment.md) or, for IPv6, an interface name or index.
    Raises OSError whose strerror says which step failed (bind, multicast interface)."""
    host, port = bind
    v6 = _is_v6(host)
    s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM)
    try:
        try:
            _mc_options(s, v6, mc_if, mc_ttl, mc_loop)
        except OSError as e:
            raise OSError(e.errno, "multicast interface %s: %s" % (mc_if, "not an address of this host"
                                   if e.errno == errno.EADDRNOTAVAIL else e.strerror or e))
        try:
            s.bind((host, port))
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise OSError(e.errno, "UDP port %d on %s is in use by another program (a server does not "
                                       "share its port)" % (port, host))
            raise OSError(e.errno, "bind %s:%d: %s" % (host, port, e.strerror))
    except OSError:
        s.close()
        raise
    s.setblocking(False)
    return s


def _mc_options(s, v6, mc_if, mc_ttl, mc_loop):
    if v6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, mc_ttl)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, 1 if mc_loop else 0)
        if mc_if not in (None, ""):
            idx = int(mc_if) if str(mc_if).isdigit() else socket.if_nametoindex(mc_if)
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, struct.pack("@I", idx))
    else:
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, mc_ttl)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1 if mc_loop else 0)
        if mc_if:
            s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(mc_if))


class _Proto(asyncio.DatagramProtocol):
    def __init__(self, drv):
        self.drv = drv

    def datagram_received(self, data, src):
        drv = self.drv
        drv.core.receive(data, src, now_ms(), None, drv.local_addr(src))
        drv.flush()

    def error_received(self, exc):
        log.warning("socket error: %s", exc)


class ServerDriver(CoreLoop):
    def __init__(self, core, bind=("0.0.0.0", 5683), mc_if=None, mc_ttl=1, mc_loop=True,
                 status_every=10.0, on_send=None):
        self.core = core
        self.bind = bind
        if mc_if is None and bind[0].startswith("127."):
            mc_if = "127.0.0.1"   # loopback has no MULTICAST flag: pick it explicitly (docs/environment.md)
        self.mc_if = mc_if
        self.mc_ttl = mc_ttl
        self.mc_loop = mc_loop
        self.status_every = status_every
        self.on_send = on_send          # optional callback(buf, dst) (tests, benchmarks)
        self.transport = None
        self.sock = None
        self._timer = None
        self._status = None
        self._local = {}                # peer host -> the local address towards it (wildcard binds)

    @property
    def port(self):
        return self.sock.getsockname()[1]

    def local_addr(self, peer):
        """SRV_ADDR as a client reaches it, for the core (only when Config.srv_addr is unset): the
        bound address, or the source address the kernel picks towards the peer (the group when there
        is no peer), remembered per peer host."""
        if self.core.cfg.srv_addr is not None:
            return None
        host = self.bind[0]
        if host not in ("", "0.0.0.0", "::"):
            return host
        dst = peer[0] if peer else (self.core.cfg.grp[0])
        if not isinstance(dst, str):
            return None
        a = self._local.get(dst)
        if a is None:
            try:
                with socket.socket(socket.AF_INET6 if _is_v6(dst) else socket.AF_INET, socket.SOCK_DGRAM) as s:
                    s.connect((dst, 9))
                    a = s.getsockname()[0]
            except OSError:
                return None
            if len(self._local) >= 4096:
                self._local.clear()
            self._local[dst] = a
        return a

    def open(self):
        """Create and bind the socket (start() does it when not done yet): a port in use or a bad
        multicast interface is an OSError here, before anything runs."""
        if self.sock is None:
            self.sock = make_socket(self.bind, self.mc_if, self.mc_ttl, self.mc_loop)
        return self.sock

    async def start(self):
        loop = asyncio.get_running_loop()
        self.open()
        self.core.cfg.srv_port = self.port
        self.transport, _ = await loop.create_datagram_endpoint(lambda: _Proto(self), sock=self.sock)
        log.info("listening on %s:%d, group %s:%d, multicast if %s ttl %d", self.bind[0], self.port,
                 self.core.cfg.grp[0], self.core.cfg.grp[1], self.mc_if or "default", self.mc_ttl)
        self._reschedule()
        if self.status_every:
            self._status = loop.call_later(self.status_every, self._status_line)
        return self

    def update(self, path, value, cf=None):
        """A new value for a resource (from the application / the demo updater)."""
        self.core.update(path, value, now_ms(), cf)
        self.flush()

    def start_group(self, path):
        """Start a group observation of path now (draft §2 "at any time"; --policy start)."""
        self.core.start_group(path, now_ms(), self.local_addr(None))
        self.flush()

    def _status_line(self):
        st = self.core.status()
        parts = ["%s T=%s COUNT~%d notif=%d%s" % (g["path"], g["token"], g["count"], g["notifications"],
                                                  " (counting)" if g["round_open"] else "")
                 for g in st["groups"]]
        parts += ["%s trad=%d" % kv for kv in st["traditional"].items()]
        s = st["stats"]
        log.info("status: %s | rx %d tx %d (mc %d) bad %d dup %d pending %d", "; ".join(parts) or "no observers",
                 s["rx"], s["tx"], s["mc_tx"], s["malformed"] + s["bad_option"] + s["not_found"] + s["method"]
                 + s["too_large"] + s["bad_request"], s["dup"], st["pending"])
        if self.core.pm is not None:
            log.info("status: %s", pm_status(self.core.pm))
        self._status = asyncio.get_running_loop().call_later(self.status_every, self._status_line)

    # stop() (CoreLoop): every group observation is cancelled on the wire (§2.5), then the socket closes


def pm_flows(pm):
    """One short text per flow (draft-ietf-core-coap-pm), by peer: the loss and RTT measured on the
    flow received from it, the levels its Event bits announce for our flow to it (ev=loss/delay), and
    packets marked to it (the multicast group: only tx)."""
    out = []
    for k, d in sorted(pm.stats()["peers"].items()):
        s = "%s tx=%d" % (k, d["tx"])
        if d["pkts"]:
            s += " rx=%d loss=%s rtt=%s" % (d["pkts"], "-" if d["loss_pct"] is None else "%.1f%%" % d["loss_pct"],
                                            "-" if d["rtt_ms"] is None else "%gms" % d["rtt_ms"])
            if d.get("idle"):  # S periods the client's delay level does not vouch for: request gaps
                s += " (%d spin periods not taken: request gaps)" % d["idle"]
        ev = d.get("peer_event")
        if ev:
            s += " ev=%d/%d" % tuple(ev)
        out.append(s)
    return out


def pm_status(pm, max_peers=8):
    """One short PM line for the status line: the first max_peers flows of pm_flows()."""
    parts = pm_flows(pm)
    if len(parts) > max_peers:
        parts[max_peers:] = ["+%d more" % (len(parts) - max_peers)]
    return "PM p%d %s" % (pm.pattern, "; ".join(parts) or "no flows")


async def serve_for(core, seconds, **kw):
    """Run a driver for a while (tests, benchmarks)."""
    d = ServerDriver(core, **kw)
    await d.start()
    t0 = time.monotonic()
    try:
        await asyncio.sleep(seconds)
    finally:
        await d.stop()
    return time.monotonic() - t0
