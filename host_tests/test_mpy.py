# `make mpy`: every firmware module compiles for the boards, and the unix build imports and runs.
import os
import subprocess
import sys

from helpers import ROOT, micropython_bin


def test_make_mpy_compiles_every_module(tmp_path):
    out = tmp_path / "mpy"
    p = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "mpy.py"), "--out", str(out)],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    srcs = set()
    for d, _, files in os.walk(os.path.join(ROOT, "firmware")):
        for f in files:
            if f.endswith(".py"):
                srcs.add(os.path.relpath(os.path.join(d, f), os.path.join(ROOT, "firmware"))[:-3])
    for board in ("esp32", "rp2040", "unix"):
        built = set()
        for d, _, files in os.walk(out / board):
            for f in files:
                built.add(os.path.relpath(os.path.join(d, f), out / board).rsplit(".", 1)[0])
        assert built == srcs, board
    # the unix .mpy files run: decode the §4 notification from compiled code only
    env = dict(os.environ, MICROPYPATH=".frozen:" + str(out / "unix"))
    code = ("from coap import msg\nm = msg.decode(bytes.fromhex('514512347b610b613cff35363738'))\n"
            "print(m.uint(6), bytes(m.payload()))")
    p = subprocess.run([micropython_bin(), "-X", "heapsize=192k", "-c", code], capture_output=True, text=True, env=env)
    assert p.stdout.strip() == "11 b'5678'", p.stdout + p.stderr


# The notification path through the client core (Msg.decode, token_is, _duplicate: viper; receive,
# _find, _response, _notify: native), from .mpy: a group observation delivers, a repeated Message ID is
# a duplicate, a stale Observe is dropped, a truncated datagram is malformed, a memoryview is fine. Run from the
# native build (this machine's unix port) and from the --bytecode build (the same Python, no emitters).
_HOT = """
from coap import client, msg, inforespenc
from coap import options as o
SRV = ('192.0.2.10', 5683)
GRP = ('233.252.0.23', 5683)
got = []
c = client.Client(log=lambda s: None)
ob = c.observe(SRV, [(o.URI_PATH, 'r')], lambda p, cf, v, via: got.append((bytes(p), cf, v, via)), 0)
r = msg.decode(c.take()[0][0])
ph = inforespenc.to_tim(msg.encode(msg.NON, msg.GET, 0, b'T', [(o.OBSERVE, 0), (o.URI_PATH, 'r')]))
last = inforespenc.to_tim(msg.encode(msg.NON, msg.CONTENT, 0, b'T', [(o.OBSERVE, 10)], b'a'))
pl = inforespenc.build(ph, last, b'\\x7b', bytes((192, 0, 2, 10)), 5683, bytes((233, 252, 0, 23)), 5683)
c.receive(msg.encode(msg.ACK, msg.SERVICE_UNAVAILABLE, r.mid, ob.token, [(o.CONTENT_FORMAT, o.CF_INFORMATIVE)], pl), SRV, 1)
n = lambda v, mid: msg.encode(msg.NON, msg.CONTENT, mid, b'\\x7b', [(o.OBSERVE, v), (o.CONTENT_FORMAT, 60), (o.MAX_AGE, 5)], b'x%d' % v)
c.receive(n(11, 7), SRV, 2, GRP)
c.receive(n(11, 7), SRV, 3, GRP)
c.receive(n(9, 8), SRV, 4, GRP)
c.receive(b'\\x51\\x45\\x00', SRV, 5, GRP)
c.receive(memoryview(n(300, 9)), SRV, 6, GRP)
print(got, c.stats.duplicates, c.stats.reordered, c.stats.dropped['malformed'], ob.ma, c.silence_end(ob))
"""
_WANT = "[(b'a', None, 10, 1), (b'x11', 60, 11, 1), (b'x300', 60, 300, 1)] 1 1 1 5 <silence_end>"


def test_notification_path_from_native_and_bytecode_builds(tmp_path):
    for flags in ([], ["--bytecode"]):
        out = tmp_path / ("mpy" + "".join(flags))
        p = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "mpy.py"), "--out", str(out), "--board", "unix"]
                           + flags, capture_output=True, text=True)
        assert p.returncode == 0, p.stdout + p.stderr
        env = dict(os.environ, MICROPYPATH=".frozen:" + str(out / "unix"))
        p = subprocess.run([micropython_bin(), "-X", "heapsize=192k", "-c", _HOT], capture_output=True, text=True,
                           env=env, cwd=ROOT)
        spread = p.stdout.split()[-1] if p.stdout else "?"
        ok = p.stdout.strip().startswith(_WANT.rsplit(" ", 1)[0]) and 6 + 5000 <= int(spread) <= 6 + 5000 + 5000
        assert ok, (flags, p.stdout + p.stderr)   # silence_end: the last one + Max-Age 5 s + a share of the leisure
