"""The load generator: registrations at a fixed rate from many sockets (the server's informative
responses ACKed), with a GET /time probe measuring how long the server takes to answer meanwhile.

  python -m tools.soak loadgen --port P [--rate 1000] [--duration 10] [--sockets 200]
"""
import select
import socket
import time

from coap import msg
from coap import options as o


def loadgen(port, rate=1000, duration=10.0, sockets=200, path="r", probe_every=0.25):
    """Registrations (CON GET Observe 0) at `rate`/s round-robin over `sockets` sockets for
    `duration` s; ACKs every CON informative response; a probe GET /time every probe_every s.
    Returns the figures (sent, acks, informative, rst, probe replies and worst latency)."""
    socks = []
    for _ in range(sockets):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 18)
        s.bind(("127.0.0.1", 0))
        s.setblocking(False)
        socks.append(s)
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    probe.setblocking(False)
    ep = select.epoll()
    fds = {s.fileno(): s for s in socks + [probe]}
    for fd in fds:
        ep.register(fd, select.EPOLLIN)
    dst = ("127.0.0.1", port)
    fig = {"sent": 0, "empty_acks": 0, "informative": 0, "other": 0, "probes": 0, "probe_replies": 0,
           "probe_worst_ms": 0.0, "acked": 0}
    probe_out = {}
    mid = 0
    k = 0
    t0 = time.monotonic()
    next_probe = t0
    end = t0 + duration
    opts = [(o.OBSERVE, 0), (o.URI_PATH, path)]
    while True:
        now = time.monotonic()
        if now >= end + 1.0:
            break
        if now < end:
            due = int((now - t0) * rate)
            while fig["sent"] < due:
                mid = (mid + 1) & 0xFFFF
                s = socks[k % sockets]
                k += 1
                try:
                    s.sendto(msg.encode(msg.CON, msg.GET, mid, (k & 0xFFFFFFFF).to_bytes(4, "big"), opts), dst)
                except BlockingIOError:
                    pass
                fig["sent"] += 1
            if now >= next_probe:
                next_probe += probe_every
                pm = 0x8000 + fig["probes"]
                probe.sendto(msg.encode(msg.CON, msg.GET, pm, b"\x01", [(o.URI_PATH, "time")]), dst)
                probe_out[pm] = now
                fig["probes"] += 1
        for fd, _ in ep.poll(0.002):
            s = fds[fd]
            while True:
                try:
                    data, src = s.recvfrom(2048)
                except (BlockingIOError, InterruptedError):
                    break
                try:
                    m = msg.decode(data)
                except msg.DecodeError:
                    fig["other"] += 1
                    continue
                if s is probe:
                    t = probe_out.pop(m.mid, None)
                    if t is not None and m.code == msg.CONTENT:
                        fig["probe_replies"] += 1
                        fig["probe_worst_ms"] = max(fig["probe_worst_ms"], (time.monotonic() - t) * 1000)
                    continue
                if m.type == msg.ACK and m.code == 0:
                    fig["empty_acks"] += 1
                elif m.code == msg.SERVICE_UNAVAILABLE and m.uint(o.CONTENT_FORMAT) == o.CF_INFORMATIVE:
                    fig["informative"] += 1
                    if m.type == msg.CON:
                        s.sendto(msg.empty(msg.ACK, m.mid), src)
                        fig["acked"] += 1
                else:
                    fig["other"] += 1
    for s in socks + [probe]:
        s.close()
    ep.close()
    fig["seconds"] = round(time.monotonic() - t0 - 1.0, 2)
    fig["rate"] = round(fig["sent"] / max(duration, 1e-9))
    fig["probe_worst_ms"] = round(fig["probe_worst_ms"], 1)
    return fig
