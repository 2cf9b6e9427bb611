# Thin socket driver for the sans-I/O client core: one UDP unicast socket, one shared socket per
# group (GRP_ADDR, GRP_PORT) joined while any observation uses it, the clock, and a loop that
# runs either plainly or as an asyncio task. Addresses are normalised by addr.norm (tuples on
# CPython and lwIP ports, raw sockaddr bytes on the unix port). No exception escapes service().
import socket
import struct
import sys

try:
    import select
except ImportError:
    import uselect as select

from coap import addr
from coap.compat import const, ticks_ms, ticks_diff


# Numeric fallbacks (Linux values) for constants a port lacks (see docs/environment.md: the unix port has
# IP_ADD_MEMBERSHIP but no IPPROTO_IP; lwIP ports define their own values, used when present).
# Leaving a group needs none: closing its socket drops the membership.
try:
    IPPROTO_IP = socket.IPPROTO_IP
except AttributeError:
    IPPROTO_IP = 0
try:
    IP_ADD_MEMBERSHIP = socket.IP_ADD_MEMBERSHIP
except AttributeError:
    IP_ADD_MEMBERSHIP = 35
try:
    IPPROTO_IPV6 = socket.IPPROTO_IPV6
except AttributeError:
    IPPROTO_IPV6 = 41
try:
    IPV6_JOIN_GROUP = socket.IPV6_JOIN_GROUP
except AttributeError:
    IPV6_JOIN_GROUP = getattr(socket, "IPV6_ADD_MEMBERSHIP", 20)
# What the boards allow (README "Per-board limits"): MicroPython's ESP32 and RP2040 ports join IPv4
# groups only (lwIP igmp_joingroup; their socket module has no IPv6 membership option), and lwIP does
# not reassemble fragments, so no datagram longer than 1500 - 20 - 8 = 1472 bytes reaches a board.
IPV6_GROUPS = sys.platform not in ("esp32", "rp2")
_MAX_DATAGRAM = const(1472)
_SMALL_DATAGRAM = const(512)  # after a MemoryError: a fragmented heap has no free 1472-byte block


def _sock(host, port, reuse=False):
    s = socket.socket(getattr(socket, "AF_INET6", 10) if ":" in host else getattr(socket, "AF_INET", 2),
                      socket.SOCK_DGRAM)
    if reuse:
        try:
            s.setsockopt(getattr(socket, "SOL_SOCKET", 1), getattr(socket, "SO_REUSEADDR", 2), 1)
        except OSError:
            pass
    s.bind(addr.sockaddr(host, port))
    return s


def join(grp, iface="0.0.0.0", ifindex=0):
    """A socket bound to GRP_PORT that joined GRP_ADDR: IPv4 mreq with the interface address,
    IPv6 ipv6_mreq with the interface index."""
    host, port = grp
    if ":" in host and not IPV6_GROUPS:
        raise OSError("IPv6 group %s: MicroPython on %s joins IPv4 groups only" % (host, sys.platform))
    any_ = "::" if ":" in host else "0.0.0.0"
    try:
        s = _sock(host, port, True)  # binding the group address filters other groups (Linux)
    except OSError:
        s = _sock(any_, port, True)  # lwIP: bind the wildcard
    try:
        if ":" in host:
            s.setsockopt(IPPROTO_IPV6, IPV6_JOIN_GROUP, addr.parse_ip(host) + struct.pack("@I", ifindex))
        else:
            s.setsockopt(IPPROTO_IP, IP_ADD_MEMBERSHIP, addr.parse_ip(host) + addr.parse_ip(iface))
    except Exception:
        s.close()
        raise
    return s


class Driver:
    def __init__(self, core, host="0.0.0.0", port=0, iface="0.0.0.0", ifindex=0, log=print):
        self.core = core
        self.iface = iface        # IPv4 interface address for joins (127.0.0.1 on loopback)
        self.ifindex = ifindex    # IPv6 interface index for joins
        self.log = log
        self.sock = _sock(host, port)
        self.poller = select.poll()
        self.poller.register(self.sock, select.POLLIN)
        self.mc = {}              # (GRP_ADDR, GRP_PORT) -> socket
        self._fd = {self._key(self.sock): (self.sock, None)}
        self.errors = 0
        self.rxsize = _MAX_DATAGRAM  # _SMALL_DATAGRAM once the heap could not give a full buffer

    @staticmethod
    def _key(s):
        return s.fileno() if hasattr(s, "fileno") else id(s)

    def sync_groups(self):
        """Join the groups the core needs, leave the ones it no longer uses."""
        want = self.core.groups
        for g in want:
            if g not in self.mc:
                try:
                    s = join(g, self.iface, self.ifindex)
                except Exception as e:
                    self.errors += 1
                    self.log("coapcast: cannot join %s:%d: %r" % (g[0], g[1], e))
                    continue
                self.mc[g] = s
                self.poller.register(s, select.POLLIN)
                self._fd[self._key(s)] = (s, g)
        for g in list(self.mc):
            if g in want:
                continue
            s = self.mc.pop(g)
            self._fd.pop(self._key(s), None)
            try:
                self.poller.unregister(s)
            except Exception:
                pass
            s.close()  # closing the socket drops its membership

    def flush(self):
        for pkt, dest in self.core.take():
            try:
                self.sock.sendto(pkt, addr.sockaddr(dest[0], dest[1]))
            except Exception as e:
                self.errors += 1
                self.log("coapcast: send to %r failed: %r" % (dest, e))
        self.sync_groups()

    def service(self, timeout_ms=0):
        """Wait up to timeout_ms (less if a timer is due) for datagrams; run timers; send."""
        core = self.core
        now = ticks_ms()
        core.tick(now)
        self.flush()
        dl = core.next_deadline()
        if dl is not None:
            w = ticks_diff(dl, ticks_ms())
            timeout_ms = max(0, min(timeout_ms, w))
        for ev in self.poller.poll(timeout_ms):
            ent = self._fd.get(ev[0] if isinstance(ev[0], int) else self._key(ev[0]))
            if ent is None:
                continue
            try:
                data, src = ent[0].recvfrom(self.rxsize)
            except OSError:
                continue
            except MemoryError:
                data = None
                if self.rxsize != _SMALL_DATAGRAM:  # from now on smaller buffers (a longer datagram
                    self.rxsize = _SMALL_DATAGRAM   # arrives truncated: malformed, counted)
                    try:
                        data, src = ent[0].recvfrom(_SMALL_DATAGRAM)
                    except (OSError, MemoryError):
                        pass
            if data is None:  # no contiguous block for a datagram (a fragmented heap): drop it,
                self.errors += 1  # counted, so that service() never raises and the loop goes on
                core.stats.dropped["internal"] += 1
                try:
                    ent[0].recv(1)  # consume it (else poll() reports it again at once)
                except Exception:
                    pass
                continue
            try:  # guarded: nothing a peer sends can stop the loop
                core.receive(data, addr.norm(src), ticks_ms(), ent[1])
            except Exception as e:
                core.stats.dropped["internal"] += 1
                self.errors += 1
                self.log("coapcast: bad datagram: %r" % (e,))
        core.tick(ticks_ms())
        self.flush()

    def run(self, duration_ms=None):
        """The plain loop (forever, or for duration_ms)."""
        t0 = ticks_ms()
        while duration_ms is None or ticks_diff(ticks_ms(), t0) < duration_ms:
            self.service(50)

    async def task(self, period_ms=5):
        """The loop as an asyncio task: the app keeps its other tasks."""
        try:
            import asyncio
        except ImportError:
            import uasyncio as asyncio
        while True:
            self.service(0)
            await asyncio.sleep(period_ms / 1000)

    def close(self):
        for s in self.mc.values():
            s.close()
        self.mc = {}
        self.sock.close()
