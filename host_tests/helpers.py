"""What the host tests share (like h11's tests/helpers.py): the repository's paths, a free loopback
port, and running a program under the MicroPython unix port with firmware/ importable.

Tests import it as `from helpers import ...` (pytest puts host_tests/ on the path of its test files);
`coap`, `coapcast` and `tools` come from the editable install (make setup). The dual-runtime tests in
host_tests/fw/ share host_tests/fw/tu.py instead (it must import under MicroPython too).
"""
import asyncio
import os
import re
import socket
import subprocess
import time

from tools.util import ROOT, FIRMWARE, free_port, micropython_bin, micropython_env  # noqa: F401

HERE = os.path.dirname(os.path.abspath(__file__))
FW = os.path.join(HERE, "fw")
HEAP = os.environ.get("COAPCAST_MP_HEAP", "192k")


def recv_msg(sock, until):
    """(decoded message, source) of the next datagram on sock (it has a timeout) before time.time()
    reaches until, or (None, None). A peer script's receive step."""
    from coap import msg
    while time.time() < until:
        try:
            data, src = sock.recvfrom(2048)
        except socket.timeout:
            continue
        return msg.decode(data), src
    return None, None


def run_micropython(script, args=(), path=(), heap=HEAP, timeout=600, env_extra=None):
    """Run a script under the unix port with firmware/ importable. Returns CompletedProcess."""
    return subprocess.run([micropython_bin(), "-X", "heapsize=" + heap, script] + list(args),
                          capture_output=True, text=True, timeout=timeout, env=micropython_env(path, env_extra),
                          cwd=ROOT)


def run_cli(args, env=None, timeout=30):
    """Run a command line from the repository root (env: variables added). Returns (exit status, the
    non-empty lines of stdout + stderr)."""
    p = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                       env=dict(os.environ, **(env or {})))
    return p.returncode, [ln for ln in (p.stdout + p.stderr).splitlines() if ln.strip()]


def one_line_error(args, *words, env=None, rc=None):
    """The tool exits non-zero (rc if given) with exactly one line, no traceback, that contains every
    word; returns that line."""
    code, lines = run_cli(args, env)
    text = "\n".join(lines)
    assert code != 0, "exit 0 for %s:\n%s" % (args, text)
    if rc is not None:
        assert code == rc, text
    assert "Traceback" not in text and len(lines) == 1, "not one line for %s:\n%s" % (args[2:], text)
    for w in words:
        assert w in lines[0], (w, lines[0])
    return lines[0]


_MAKE_SAYS = re.compile(r"^make(\[\d+\])?: \*\*\* ")


def run_make(*args, timeout=300):
    """`make -s ARGS` as a user types it at the top level (even when the tests run under `make test`:
    no MAKEFLAGS/MAKELEVEL from a parent make). Returns (exit status, the non-empty output lines that
    are not make's own "make: *** ... Error N" notice)."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    p = subprocess.run(["make", "-s", "--no-print-directory"] + list(args), cwd=ROOT, capture_output=True,
                       text=True, timeout=timeout, env=env)
    return p.returncode, [ln for ln in (p.stdout + p.stderr).splitlines() if ln.strip() and not _MAKE_SAYS.match(ln)]


# aiocoap as the peer (the interop tests; aiocoap is imported by the tests that use these, not here)

def aiocoap_out(m, mtype, mid, token):
    """Set what aiocoap's transport would (type, MID, token) on an aiocoap Message and encode it."""
    m.mtype, m.mid, m.token = mtype, mid, token
    return m.encode()


def aiocoap_in(data):
    """An aiocoap Message decoded from received bytes."""
    import aiocoap
    from aiocoap.message import Direction
    m = aiocoap.Message.decode(data)
    m.direction = Direction.INCOMING
    return m


def aiocoap_msg(**kw):
    """An aiocoap Message to send."""
    import aiocoap
    from aiocoap.message import Direction
    m = aiocoap.Message(**kw)
    m.direction = Direction.OUTGOING
    return m


def aiocoap_group(alg, gid, secret, salt, me, priv, creds):
    """aiocoap's SimpleGroupContext (AES-CCM-16-64-128, SHA-256, ECDH-SS) for member `me` of group `gid`:
    `priv` its private key as our key files hold it (Ed25519 seed, P-256 d), `creds` every member's credential."""
    import aiocoap.oscore as ao
    from coap import cose
    if alg == cose.ES256:
        from cryptography.hazmat.primitives.asymmetric import ec
        priv = ec.derive_private_key(int.from_bytes(priv, "big"), ec.SECP256R1())
    sig = ao.Ed25519() if alg == cose.EDDSA else ao.ECDSA_SHA256_P256()
    ccm = ao.algorithms["AES-CCM-16-64-128"]
    return ao.SimpleGroupContext(ccm, ao.hashfunctions["sha256"], sig, ccm, ao.EcdhSsHkdf256(), gid, secret, salt,
                                 me, priv, creds[me], {k: v for k, v in creds.items() if k != me}, None)


class RequestFlow(asyncio.DatagramProtocol):
    """A test client that sends `count` requests to `target`: the next one when the answer to the
    current one comes (the subclass calls send()) or after `timeout` s, or one every `interval` ms.
    The subclass builds request k (request(k) -> bytes) and reads the answers; `done` resolves
    0.2 s after the last request."""
    interval = 0

    def __init__(self, target, count, timeout):
        self.target, self.count, self.timeout = target, count, timeout
        self.sent = 0
        self.done = asyncio.get_running_loop().create_future()
        self.h = None

    def connection_made(self, tr):
        self.tr = tr

    def send(self):
        loop = asyncio.get_running_loop()
        if self.sent >= self.count:
            if not self.done.done():
                loop.call_later(0.2, lambda: self.done.done() or self.done.set_result(1))
            return
        k = self.sent
        self.sent += 1
        self.tr.sendto(self.request(k))
        if self.h:
            self.h.cancel()
        self.h = loop.call_later(self.interval / 1000.0 if self.interval else self.timeout, self.send)
