"""Protected group observations (draft -04 §6-7) over real UDP on 127.0.0.1, for the attack tests and
`make soak`: key files, boards under the MicroPython unix port running mp_oscore_board.py, and the
attackers.

  keydir = keys(tmpdir, n=2)                       # python -m tools.oscore_keys (server, c1, c2)
  srv = Server(extra=["--oscore", keydir + "/server.json", ...]).start()   # tools.soak.Server
  p = start_board(keydir, "c1", srv.url("/r"), 6000)   ->   OscoreBoardLog(p.communicate()[0])
  McAttacker(srv.port, srv.gport)                  # multicast forgeries, with the server's address
  TamperRelay(("127.0.0.1", srv.port))             # on the unicast path: tampers / forges informative responses

The attacks (each datagram counted in .sent by kind):
  forged        a notification on T from the server's address and port, unprotected
  cancel        the §2.5 cancellation (5.03 on T), unprotected, from the server's address
  replayed      a real protected notification sent again (server's address)
  other_obs     a real protected notification of another group observation, its token set to T
  garbage       a real notification's OSCORE option (with a fresh Partial IV), random ciphertext and
                signature
  tampered_info the informative response with a bit of its ciphertext flipped (where last_notif is)
  nonmember     an informative response from a party without the keys (unprotected; and with a made-up
                OSCORE option), on the registration's token, from the server's address
"""
import os
import random
import socket
import struct
import subprocess
import time

from coap import msg, cose, inforespenc
from coap import optinfo as o
from tools.util import ROOT, group_socket, micropython_bin, micropython_env
from tools.soak.common import GROUP, Worker
from tools.soak.board import BoardLog

HERE = os.path.dirname(os.path.abspath(__file__))


def keys(tmpdir, n=2, alg="ed25519"):
    """Key files for the server and boards c1..cn in tmpdir/keys (the boards' modules: cN_config)."""
    from tools import oscore_keys
    d = os.path.join(str(tmpdir), "keys")
    with open(os.devnull, "w") as null:
        import contextlib
        with contextlib.redirect_stdout(null):
            if oscore_keys.main(["--out", d, "--n", str(n), "--alg", alg]) != 0:
                raise RuntimeError("python -m tools.oscore_keys failed")
    return d


def board_runtime():
    """(binary, heap) of a board: the 32-bit unix port at a Pico W's heap when it is built (make setup),
    else the 64-bit one with twice the heap (objects are twice the size; the dual-runtime convention)."""
    from tools import runtimes
    b = runtimes.unix32_bin()
    return (b, "192k") if b else (micropython_bin(), "384k")


def start_board(keydir, name, uri, duration_ms, heap=None, binary=None, **cfg):
    """A board process: mp_oscore_board.py with keydir/<name>_config.py as its keys module."""
    env = micropython_env([ROOT, keydir])
    b, h = board_runtime()
    args = [binary or b, "-X", "heapsize=" + (heap or h), os.path.join(HERE, "mp_oscore_board.py"), uri,
            str(duration_ms), name + "_config"] + ["%s=%s" % kv for kv in sorted(cfg.items())]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=keydir, env=env)


class OscoreBoardLog(BoardLog):
    """Parsed output of mp_oscore_board.py: notifs (t, observe, via, payload), the core's stats, the
    groupsec counters (sec), rejections by reason, PM lines."""

    STATS = ("received", "delivered", "security", "inforesp", "source", "token", "stale")
    SEC = ("verified", "informative", "failed_informative", "fields_ignored", "busy", "duplicates")

    def __init__(self, out):
        self.sec = None
        self.rejects = {}
        self.pm = []
        BoardLog.__init__(self, out)

    def _notif(self, f):
        return int(f[1]), int(f[2]), int(f[3]), " ".join(f[4:])

    def _line(self, tag, f, line):
        if tag == "X":
            self.sec = dict(zip(self.SEC, map(int, f[1:])))
        elif tag == "R":
            self.rejects = {k: int(v) for k, v in (x.split("=") for x in f[1:])}
        elif tag == "P":
            self.pm.append(line[2:])
        else:
            BoardLog._line(self, tag, f, line)

    def payloads(self):
        return [p for t, v, via, p in self.notifs]


def raw_udp(src, dst, payload):
    """An IPv4/UDP datagram with a forged source (UDP checksum 0: none, allowed on IPv4)."""
    udp = struct.pack("!HHHH", src[1], dst[1], 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0x1234, 0, 1, socket.IPPROTO_UDP, 0,
                     socket.inet_aton(src[0]), socket.inet_aton(dst[0]))
    return ip + udp


def can_forge():
    return os.geteuid() == 0


class McAttacker(Worker):
    """Joins the group, learns T of the observation of `path_token_of` from the first notification it
    sees, keeps the latest notification of every group observation, then sends n rounds of every
    multicast attack with the server's address and port forged (raw socket, root)."""

    KINDS = ("forged", "cancel", "replayed", "other_obs", "garbage")

    def __init__(self, srv_port, gport, n=10, learn=8.0):
        super().__init__()
        self.srv = ("127.0.0.1", srv_port)
        self.g = (GROUP, gport)
        self.n = n
        self.learn = learn
        self.sent = dict.fromkeys(self.KINDS, 0)

    def _run(self):
        rx = group_socket(GROUP, self.g[1], 0.5)
        latest = {}   # token -> latest protected notification
        end = time.monotonic() + self.learn
        while time.monotonic() < end and len(latest) < 2:
            try:
                data, src = rx.recvfrom(2048)
            except socket.timeout:
                continue
            m = msg.decode(data)
            if src == self.srv and m.code == msg.CONTENT and m.has(cose.OSCORE):
                latest[m.token_bytes()] = data
        if len(latest) < 2:
            raise RuntimeError("saw %d group observations' notifications, need 2" % len(latest))
        raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        raw.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
        rng = random.Random(7)
        toks = list(latest)
        for k in range(self.n):
            while True:  # keep the captures fresh (a replay of the newest one)
                try:
                    data, src = rx.recvfrom(2048)
                except (socket.timeout, BlockingIOError):
                    break
                m = msg.decode(data)
                if src == self.srv and m.token_bytes() in latest and m.code == msg.CONTENT:
                    latest[m.token_bytes()] = data
                rx.settimeout(0.01)
            for T in toks:
                other = latest[[t for t in toks if t != T][0]]
                real = latest[T]
                mid = 0x7000 + 8 * k
                sends = {
                    "forged": msg.encode(msg.NON, msg.CONTENT, mid, T, [(o.OBSERVE, 0xFFFF), (o.CONTENT_FORMAT, 0)],
                                         b"spoof"),
                    "cancel": msg.encode(msg.NON, msg.SERVICE_UNAVAILABLE, mid + 1, T),
                    "replayed": real,
                    "other_obs": bytes(other[:4]) + T + bytes(other[4 + len(T):]),
                    "garbage": self._garbage(real, mid + 2, rng),
                }
                for kind, data in sends.items():
                    raw.sendto(raw_udp(self.srv, self.g, data), self.g)
                    self.sent[kind] += 1
                time.sleep(0.02)
            time.sleep(0.05)
        rx.close()
        raw.close()

    @staticmethod
    def _garbage(real, mid, rng):
        """A real notification's OSCORE option with a fresh Partial IV (past the replay check), random
        ciphertext and signature."""
        m = msg.decode(real)
        piv, kc, kid, grp = cose.parse_option(m.opt(cose.OSCORE))
        opt = cose.option(cose.piv_bytes(int.from_bytes(piv, "big") + 100000 + mid), kc, kid, grp)
        opts = [(n, opt if n == cose.OSCORE else v) for n, v in m.items()]
        return msg.encode(msg.NON, msg.CONTENT, mid, m.token_bytes(), opts,
                          bytes(rng.getrandbits(8) for _ in range(len(m.payload()))))

    def total(self):
        return sum(self.sent.values())


class TamperRelay(Worker):
    """A UDP relay on the unicast path (the board registers through it): the first informative
    response it forwards has a bit of its ciphertext flipped (tampered_info), and before forwarding
    the board's registration it answers it with informative responses from a non-member (nonmember:
    unprotected, and with a made-up OSCORE option), from its own address, which is the one the board
    registered with. Everything else goes through unchanged."""

    def __init__(self, server, run_s=30.0):
        super().__init__()
        self.server = server
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.up.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.run_s = run_s
        self.client = None
        self.sent = {"tampered_info": 0, "nonmember": 0}
        self._stop = False

    def stop(self):
        self._stop = True

    def _run(self):
        import select
        end = time.monotonic() + self.run_s
        while not self._stop and time.monotonic() < end:
            r, _, _ = select.select([self.sock, self.up], [], [], 0.1)
            for s in r:
                data, src = s.recvfrom(2048)
                if s is self.sock:
                    self.client = src
                    self._from_board(data)
                    self.up.sendto(data, self.server)
                elif self.client is not None:
                    self.sock.sendto(self._from_server(data), self.client)
        self.sock.close()
        self.up.close()

    def _from_board(self, data):
        m = msg.decode(data)
        if self.sent["nonmember"] or not m.has(o.OBSERVE) or m.type != msg.CON:
            return
        T = b"\x66\x66"
        ph = inforespenc.to_tim(msg.encode(msg.NON, msg.GET, 0, T, [(o.OBSERVE, 0), (o.URI_PATH, "r")]))
        last = inforespenc.to_tim(msg.encode(msg.NON, msg.CONTENT, 0, T, [(o.OBSERVE, 9)], b"nonmember"))
        pl = inforespenc.build(ph, last, T, bytes([127, 0, 0, 1]), self.port, bytes([224, 0, 1, 187]))
        info = msg.encode(msg.ACK, msg.SERVICE_UNAVAILABLE, m.mid, m.token_bytes(),
                          [(o.CONTENT_FORMAT, o.CF_INFORMATIVE)], pl)
        fake = msg.encode(msg.ACK, msg.CHANGED, m.mid, m.token_bytes(), [(cose.OSCORE, cose.option(b"\x01"))],
                          os.urandom(40))
        for d in (info, fake):
            self.sock.sendto(d, self.client)
            self.sent["nonmember"] += 1

    def _from_server(self, data):
        m = msg.decode(data)
        if self.sent["tampered_info"] or m.type != msg.CON or len(m.payload()) < 100:
            return data
        b = bytearray(data)
        b[len(b) - 20] ^= 0x04   # inside the encrypted CBOR map, where last_notif is
        self.sent["tampered_info"] += 1
        return bytes(b)
