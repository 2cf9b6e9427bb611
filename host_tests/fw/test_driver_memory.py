# Issue 7, memory: on a tight, fragmented heap (a 64k board) recvfrom(1472) raises MemoryError; the
# driver then receives in 512-byte buffers from now on (rather than going deaf), and only when even
# that fails drops the datagram, counted. Real UDP on 127.0.0.1; CPython and the unix port.
import socket
from coap import addr
from tu_driver import Core, driver_on_free_port as _driver


class TightSocket:
    """The driver's socket as a fragmented heap makes it: recvfrom(n) fails above `limit` bytes."""

    def __init__(self, s, limit):
        self.s = s
        self.limit = limit
        self.asked = []

    def recvfrom(self, n):
        self.asked.append(n)
        if n > self.limit:
            raise MemoryError("memory allocation failed, allocating %d bytes" % n)
        return self.s.recvfrom(n)

    def recv(self, n):
        return self.s.recv(n)

    def fileno(self):
        return self.s.fileno()


def _tight_driver(limit):
    """(core, driver, its port, its TightSocket): a driver on a free port whose recvfrom fails above limit bytes."""
    core = Core()
    d, p = _driver(core)
    t = TightSocket(d.sock, limit)
    d._fd[d._key(d.sock)] = (t, None)
    return core, d, p, t


def _send(p, data):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(data, addr.sockaddr("127.0.0.1", p))
    s.close()


def _service(d, n):
    for _ in range(40):
        d.service(25)
        if len(d.core.got) >= n:
            return


def test_memory_error_in_recvfrom_falls_back_to_512_bytes():
    core, d, p, t = _tight_driver(600)
    try:
        _send(p, b"\x50\x45\x00\x01")
        _service(d, 1)
        assert core.got == [b"\x50\x45\x00\x01"] and t.asked == [1472, 512], t.asked
        _send(p, b"\x50\x45\x00\x02")
        _service(d, 2)
        assert core.got[-1] == b"\x50\x45\x00\x02" and t.asked[-1] == 512 and 1472 not in t.asked[1:]
        assert core.stats.dropped["internal"] == 0 and d.errors == 0 and d.rxsize == 512
    finally:
        d.close()


def test_memory_error_even_at_512_drops_counted_and_the_loop_goes_on():
    core, d, p, t = _tight_driver(100)
    try:
        _send(p, b"\x50\x45\x00\x03")
        for _ in range(40):
            d.service(25)             # raises nothing
            if d.errors:
                break
        assert core.got == [] and core.stats.dropped["internal"] == 1 and d.errors == 1
        t.limit = 10000               # memory is back
        _send(p, b"\x50\x45\x00\x04")
        _service(d, 1)
        assert core.got == [b"\x50\x45\x00\x04"] and d.errors == 1   # the dropped one was consumed
    finally:
        d.close()
