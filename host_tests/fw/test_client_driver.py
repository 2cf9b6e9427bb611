# The thin driver: numeric fallbacks for socket constants, group sockets shared and left,
# addresses normalised, and nothing a peer sends escapes service(). Real UDP on 127.0.0.1 only.
import socket
from coap import driver, addr, msg
from coap.compat import ticks_ms, ticks_diff

GRP = ("224.0.1.187", 0)


class FakeCore:
    def __init__(self, raise_on=None):
        self.groups = {}
        self.got = []
        self.out = []
        self.raise_on = raise_on

        class S:
            dropped = {"internal": 0}
        self.stats = S()

    def receive(self, data, src, now, group=None):
        if data == self.raise_on:
            raise RuntimeError("core bug")
        self.got.append((bytes(data), src, group))

    def tick(self, now):
        pass

    def next_deadline(self):
        return None

    def take(self):
        out, self.out = self.out, []
        return out


def test_constants_have_numeric_fallbacks():
    assert driver.IP_ADD_MEMBERSHIP == getattr(socket, "IP_ADD_MEMBERSHIP", 35)
    assert driver.IPPROTO_IP == 0 and driver.IPPROTO_IPV6 == 41
    assert driver.IPV6_JOIN_GROUP in (20, getattr(socket, "IPV6_JOIN_GROUP", 20))


def _bound(port=None):
    """A UDP socket on 127.0.0.1 at a random free port (the unix port has no getsockname)."""
    import random
    for _ in range(50):
        p = port or 20000 + random.getrandbits(15)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.bind(addr.sockaddr("127.0.0.1", p))
            return s, p
        except OSError:
            s.close()
    raise OSError("no free port")


def _sender():
    s, p = _bound()
    s.setsockopt(0, 32, addr.parse_ip("127.0.0.1"))  # IP_MULTICAST_IF (docs/environment.md)
    return s, ("127.0.0.1", p)


def _pump(d, core, n, ms=2000):
    t0 = ticks_ms()
    while len(core.got) < n and ticks_diff(ticks_ms(), t0) < ms:
        d.service(20)


def test_group_socket_join_receive_leave_and_unicast():
    probe, port = _bound()
    probe.close()
    core = FakeCore(raise_on=b"\x40\x00\x00\x00boom")
    d = driver.Driver(core, "127.0.0.1", 0, iface="127.0.0.1", log=lambda s: None)
    g = ("224.0.1.187", port)
    core.groups[g] = 2
    d.sync_groups()
    assert list(d.mc) == [g]
    tx, txa = _sender()
    try:
        tx.sendto(b"\x40\x00\x00\x00boom", addr.sockaddr(g[0], g[1]))  # the core raises: counted, no escape
        tx.sendto(b"\x50\x45\x00\x01hello", addr.sockaddr(g[0], g[1]))
        _pump(d, core, 1)
        assert core.got == [(b"\x50\x45\x00\x01hello", txa, g)], core.got
        assert core.stats.dropped["internal"] == 1 and d.errors == 1
        # unicast: what the core queues goes out of the unicast socket; replies come back tagged None
        core.out.append((msg.empty(msg.RST, 7), txa))
        d.flush()
        data, src = tx.recvfrom(64)
        assert data == msg.empty(msg.RST, 7)
        tx.sendto(b"\x60\x00\x00\x07", src)
        _pump(d, core, 2)
        assert core.got[-1] == (b"\x60\x00\x00\x07", txa, None)
        # leaving: the group socket closes when no observation uses it
        del core.groups[g]
        d.sync_groups()
        assert d.mc == {}
    finally:
        tx.close()
        d.close()


class _NoHeap:
    """A socket whose recvfrom() cannot get its buffer (MemoryError on a fragmented heap)."""

    def __init__(self, s):
        self.s = s

    def recvfrom(self, n):
        raise MemoryError("memory allocation failed, allocating %d bytes" % n)

    def recv(self, n):
        return self.s.recv(n)


def test_memory_error_on_receive_is_counted_not_raised():
    core = FakeCore()
    core.stats.dropped = {"internal": 0}  # (the fake's class-level dict is shared between fakes)
    probe, port = _bound()
    probe.close()
    d = driver.Driver(core, "127.0.0.1", port, log=lambda s: None)
    to = addr.sockaddr("127.0.0.1", port)
    tx, txa = _sender()
    try:
        key = list(d._fd)[0]
        real = d._fd[key][0]
        d._fd[key] = (_NoHeap(real), None)
        tx.sendto(b"\x50\x45\x00\x01hello", to)
        t0 = ticks_ms()
        while d.errors == 0 and ticks_diff(ticks_ms(), t0) < 2000:
            d.service(20)  # must not raise
        assert d.errors == 1 and core.stats.dropped["internal"] == 1 and core.got == []
        d.service(50)  # the datagram was consumed: nothing more to report
        assert d.errors == 1
        d._fd[key] = (real, None)
        tx.sendto(b"\x50\x45\x00\x02again", to)
        _pump(d, core, 1)
        assert core.got and core.got[-1][0] == b"\x50\x45\x00\x02again"
    finally:
        tx.close()
        d.close()
