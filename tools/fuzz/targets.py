"""Fuzz targets: each is a function of one input (bytes) that may raise only the exceptions listed
in ALLOWED[name]; any other exception, or a broken invariant (AssertionError), is a crash.

  msg       Msg.decode + every accessor; to_tim/from_tim round trip gives the same bytes
  cbor      cbor.loads (board CBOR); a decoded item re-encodes and decodes to an equal item
  inforesp  inforesp.parse (§2.2 payload)
  client    the board client core's recv() with live observations (group from SRV, group with a
            separate registration destination, proxy §8, traditional, a registration awaiting its
            separate response; PM marking on or off), then poll()/take()/next_deadline(); what it
            sends must decode, group memberships must match the observations
  clientseq the same client core fed a sequence of datagrams (stateful paths: duplicates, reordering,
            re-registration, cancellation then more notifications, a repeated informative response)
  server    the desktop ServerCore.receive() (one long-lived server with a group observation and
            traditional observers, 64 peers), tick(); its internal-error counter must stay 0
  pm        the PM measurer: Meter.rx and PMEndpoint.rx/tx with random values and times, then every
            report accessor
  oscoreopt cose.parse_option (the OSCORE option, RFC 8613 §6.1); what parses re-encodes to itself
  unprotect OSCORE and Group OSCORE verification (coap.oscore, coap.grouposcore, see OscoreTarget):
            a rejection moves exactly one counter, an accepted message rebuilds to a valid datagram
  proxy     the forward proxy core (tools/fuzz/proxy.py): live group and traditional observations
            through it; no internal error, outputs decode, group memberships = live group observations

Client/server inputs: a control byte then the datagram (see client_target / server_target).
"""
import logging
import random

from coap import msg, cbor, cborenc, inforesp, inforespenc, client, pm, pmmeasure
from coap import options as o
from tools.fuzz import corpus as C
from tools.fuzz import corpus_oscore as CO

SRV = ("192.0.2.10", 5683)
GRP = ("233.252.0.23", 5683)
PROXY = ("192.0.2.50", 5683)
OTHER_SRV = ("192.0.2.11", 5683)   # a second server whose tp_info points at SRV
SOURCES = (SRV, SRV, ("192.0.2.10", 5684), ("192.0.2.99", 5683), PROXY, OTHER_SRV, ("::1", 5683),
           ("127.0.0.1", 5683))
JUMPS = (0, 1000, 130000, 300000)


# ---------------------------------------------------------------- codecs
def msg_target(data):
    m = msg.Msg()
    m.decode(data)
    m.token()
    tok = m.token_bytes()
    assert len(tok) == m.tkl <= 8
    items = m.items()
    for num, val in items:
        assert m.opt_len(num) >= 0 and m.opt(num) is not None
        m.opts(num)
        m.uint(num)
        assert m.has(num)
    pl = bytes(m.payload())
    assert m.has_payload() == (len(pl) > 0)
    assert m.options_end() <= len(data)
    try:
        m.path()
    except UnicodeError:  # a Uri-Path that is not UTF-8: the server answers 4.00 (caught there)
        pass
    # to_tim / from_tim round trip (draft §2.2.1): the same datagram comes back
    tim = inforespenc.to_tim(data)
    assert msg.from_tim(tim, tok, m.type, m.mid) == bytes(data), "tim round trip"
    # re-encoding the decoded fields gives the same fields
    again = msg.decode(msg.encode(m.type, m.code, m.mid, tok, items, pl))
    assert again.items() == items and bytes(again.payload()) == pl and again.code == m.code


def cbor_target(data):
    v = cbor.loads(data)
    try:
        enc = cborenc.dumps(v)
    except cborenc.CBOREncodeError:
        return  # e.g. a float the encoder writes differently: decoding is what is fuzzed
    w = cbor.loads(enc)
    assert _same(v, w), "CBOR re-encode changed %r -> %r" % (v, w)


def _same(a, b):
    if isinstance(a, float) and a != a:
        return isinstance(b, float) and b != b
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return isinstance(b, dict) and len(a) == len(b) and all(k in b and _same(a[k], b[k]) for k in a)
    if isinstance(a, cbor.Tag):
        return isinstance(b, cbor.Tag) and a.tag == b.tag and _same(a.value, b.value)
    return a == b and type(a) is type(b)


def inforesp_target(data):
    r = inforesp.parse(data)
    assert len(r.srv_addr) in (4, 16) and len(r.cli_addr) in (4, 16) and 0 < r.srv_port <= 0xFFFF
    assert isinstance(r.token, bytes) and len(r.token) <= 8


# ---------------------------------------------------------------- the board client core
class _Sink:
    def __init__(self):
        self.n = 0

    def __call__(self, payload, cf, v, via):
        bytes(payload)
        self.n += 1


def _established(c, dest, opts, now, info_payload=None, ack_first=True, con_info=True):
    s = _Sink()
    ob = c.observe(dest, opts, s, now, lambda o_, why: None)
    out = c.take()
    r = msg.decode(out[-1][0])
    if ack_first:
        c.receive(msg.empty(msg.ACK, r.mid), dest, now + 1)
    if info_payload is not None:
        c.receive(C.informative(ob.token, 0x99 + len(c.obs), info_payload, msg.CON if con_info else msg.ACK),
               dest, now + 2)
    c.take()
    return ob


def make_client(variant, seed=1):
    """A client with live observations. variant: 0 plain, 1 with a PM endpoint (pattern 0),
    2 with PM pattern 1 and an observation awaiting its separate response, 3 a pending MRFD poll."""
    rng = random.Random(seed)
    kw = {}
    if variant in (1, 2):
        kw["pm"] = pm.PMEndpoint("client", pattern=variant - 1)
    c = client.Client(rng=rng, log=lambda *a: None, leisure_ms=1000, **kw)
    pl = C.inforesp_payloads()
    _established(c, SRV, [(o.URI_PATH, "r")], 0, pl[0])                               # GROUP from SRV
    _established(c, OTHER_SRV, [(o.URI_PATH, "s")], 0,                                 # GROUP, src != dest
                 inforespenc.build(C.ph_req(), C.last_notif(), b"\x7c", C.SRV_RAW, 5683, C.GRP_RAW, None))
    _established(c, PROXY, [(o.PROXY_URI, "coap://192.0.2.10/p")], 0, pl[6])          # PROXY (§8)
    t = c.observe(SRV, [(o.URI_PATH, "time")], _Sink(), 0)                             # TRAD
    r = msg.decode(c.take()[-1][0])
    c.receive(msg.encode(msg.ACK, msg.CONTENT, r.mid, bytes(t.token), [(o.OBSERVE, 3)], b"22"), SRV, 3)
    if variant == 2:
        _established(c, SRV, [(o.URI_PATH, "w")], 0, None)                            # REG, empty ACK seen
    if variant == 3:
        c.receive(C.notification(11, extra=[(o.MRFD, 0)]), SRV, 5, GRP)                 # feedback timer set
    c.take()
    return c


_clients = {}


def client_target(data):
    """data[0]: bits 0-2 source (SOURCES), bit 3 on the group socket, bits 4-5 time jump (JUMPS),
    bits 6-7 client variant (make_client); data[1:]: the datagram. It is fed twice (a duplicate),
    then the timers run."""
    if not data:
        return
    ctl = data[0]
    dgram = data[1:]
    c = make_client(ctl >> 6)
    src = SOURCES[ctl & 7]
    grp = GRP if ctl & 8 else None
    now = 10 + JUMPS[(ctl >> 4) & 3]
    c.receive(dgram, src, now, grp)
    c.receive(dgram, src, now + 1, grp)
    _check_client(c)
    d = c.next_deadline()
    c.tick(now + 2 if d is None else d)
    c.tick(now + 400000)
    _check_client(c)


def clientseq_target(data):
    """The client of variant 2 (every state, one registration awaiting its separate response) fed
    each record: ctl bits 0-2 source, bit 3 group socket, bits 4-5 time step (JUMPS); every state
    is checked after each datagram and after the timers."""
    c = make_client(2)
    now = 10
    for ctl, d in C.split_seq(data):
        now += 1 + JUMPS[(ctl >> 4) & 3] // 10
        c.receive(d, SOURCES[ctl & 7], now, GRP if ctl & 8 else None)
        _check_client(c)
        c.tick(now)
        _check_client(c)
    c.tick(now + 400000)
    _check_client(c)


def _check_client(c):
    for buf, dest in c.take():
        msg.decode(buf)
        assert isinstance(dest, tuple) and len(dest) == 2, dest
    for g, n in c.groups.items():
        k = sum(1 for x in c.obs if x.grp == g)
        assert n == k, "group %r counted %d, used by %d observations" % (g, n, k)
    for x in c.obs:
        assert x.state in (client.REG, client.TRAD, client.GROUP, client.PROXY), x.state
        if x.grp is not None:
            assert x.grp in c.groups
    d = c.next_deadline()
    assert d is None or isinstance(d, int)


# ---------------------------------------------------------------- the desktop server
class _Errors(logging.Handler):
    def __init__(self):
        super().__init__(logging.ERROR)
        self.last = None

    def emit(self, record):
        self.last = self.format(record)


class CoreTarget:
    """A long-lived sans-I/O core (the server's, the proxy's), built again by _new() every `reset`
    inputs (it sets self.now). An input is a control byte then a datagram: bits 6-7 of the control
    jump the clock (CORE_JUMPS), then _feed(control, datagram) runs the input and the checks."""

    CORE_JUMPS = (0, 10, 5000, 300000)

    def __init__(self, reset=2000):
        self.reset = reset
        self.k = 0

    def __call__(self, data):
        if self.k % self.reset == 0:
            self._new()
        self.k += 1
        if data:
            self.now += self.CORE_JUMPS[data[0] >> 6]
            self._feed(data[0], data[1:])


class ServerTarget(CoreTarget):
    """One long-lived ServerCore. Control bits 0-5: the peer (127.0.0.x:5000+k)."""

    def __init__(self, reset=2000):
        CoreTarget.__init__(self, reset)
        self.core = None
        self.errors = _Errors()
        # only add a handler: the logger's level and propagation belong to the caller
        # (python -m tools.fuzz quiets it; a test session keeps its own logging intact)
        logging.getLogger("coapcast.server").addHandler(self.errors)

    def _new(self):
        from tools.server.core import ServerCore, Config
        from tools.server import resources as R
        res = R.builtins(group_after=1)
        res.append(R.Resource("/g", "0", group_after=0, writable=True))
        core = ServerCore(res, Config(grp=GRP, srv_addr="127.0.0.1", srv_port=5683, notify_interval_ms=100),
                          pm=pm.PMEndpoint("server", pattern=0), rng=random.Random(7))
        self.now = 1000
        core.start_group("/g", self.now)
        for k, m in enumerate(C.section4_flow()[:6] + [C.registration(b"\x55", 77, path="time")]):
            core.receive(m, ("127.0.0.1", 6000 + k), self.now)
        core.take()
        self.core = core
        self.base = core.stats["errors"]

    def _feed(self, ctl, datagram):
        core = self.core
        self.errors.last = None
        core.receive(datagram, ("127.0.0.%d" % (1 + (ctl & 63)), 5000 + (ctl & 63)), self.now)
        if self.k % 8 == 0:
            core.tick(self.now)
        if self.k % 64 == 0:
            core.update("/g", str(self.k), self.now)
        for buf, dest in core.take():
            msg.decode(buf)
        if core.stats["errors"] != self.base:
            self.base = core.stats["errors"]
            raise AssertionError("server internal error: %s" % self.errors.last)


# ---------------------------------------------------------------- the PM measurer
def pm_target(data):
    """Triples (value, dt_hi, dt_lo): dt_hi 0xFF makes the value absent (None) or out of range,
    dt_hi >= 0x80 moves the clock back (ticks are compared with ticks_diff)."""
    meters = (pmmeasure.Meter(), pmmeasure.Meter(4, 1, 50, periods=True), pmmeasure.Meter(8, 2, skip_first=True),
              pmmeasure.Meter(64, 0, 1000, periods=False, ring=2))
    eps = (pm.PMEndpoint("client", 0, n=8), pm.PMEndpoint("server", 1, n=8, max_peers=2))
    now = 0
    for i in range(0, len(data) - 2, 3):
        v, hi, lo = data[i], data[i + 1], data[i + 2]
        if hi == 0xFF:
            v = (None, -1, 256, 0x1234)[lo & 3]
            dt = 1
        else:
            dt = ((hi << 8) | lo) - (0x10000 if hi & 0x80 else 0)
        now = (now + dt) & 0x3FFFFFFF
        for m in meters:
            r = m.rx(v, now)
            assert r in (pmmeasure.NOT_D, pmmeasure.D_NOW, pmmeasure.D_DEFERRED)
            if lo & 0x10 and isinstance(v, int) and 0 <= v < 1000:
                m.add_rtt(v)
        peer = ("192.0.2.%d" % (lo & 3), 5683)
        for e in eps:
            e.rx(peer, v, now)
            t = e.tx(peer, now, v if isinstance(v, int) and 0 <= v < 256 else None)
            assert t is None or 0 <= t <= 255, t
    for m in meters:
        m.summary(True)
        m.line("x")
        m.loss_permille()
        m.rtt()
        m.rtt_median()
        m.event_levels()
        m.samples()
    for e in eps:
        e.stats()
        e.lines()


# ---------------------------------------------------------------- OSCORE / Group OSCORE
def oscoreopt_target(data):
    from coap import cose
    piv, ctx, kid, group = cose.parse_option(data)
    assert cose.option(piv, ctx, kid, group) == bytes(data), "OSCORE option round trip"


class OscoreTarget:
    """Control byte, then a datagram. ctl & 3: 0 a request at the server's OSCORE context, 1 a response
    at the client's (a fresh Binding to its request PIV 0), 2 a group-mode request at a board's group
    context, 3 a group-mode response bound to the phantom request (PIV 501); ctl & 4: replay check on
    (requests) / the Pending stepped one unit at a time (group responses). Keys: corpus_oscore.OSC_*."""

    def __init__(self):
        from coap import oscore, oscoreserver, grouposcore
        from tools.oscore_group import crypto_verifier
        from tools.oscore_keys import credential
        self.oscore = oscore
        self.srv = oscoreserver.Context(CO.OSC_SECRET, CO.OSC_SRV, CO.OSC_CLI)
        self.cli = oscore.Context(CO.OSC_SECRET, CO.OSC_CLI, CO.OSC_SRV)
        self.grp = grouposcore.GroupContext(CO.OSC_GID, CO.OSC_SECRET, {CO.OSC_GSRV: credential(-8, CO.OSC_GKEY)},
                                            sender_id=CO.OSC_CLI, verifier=crypto_verifier)
        self.m = msg.Msg()

    def __call__(self, data):
        if not data:
            return
        ctl = data[0]
        m = self.m.decode(data[1:])  # DecodeError: not a CoAP message at all (the codec's own target)
        kind = ctl & 3
        ctx = (self.srv, self.cli, self.grp, self.grp)[kind]
        before = ctx.stats.total()
        B = self.oscore.Binding
        if kind == 0:
            r = self.srv.unprotect_request(m, replay=ctl & 4 != 0)
        elif kind == 1:
            r = self.cli.unprotect_response(m, B(CO.OSC_CLI, b"\x00"))
        elif kind == 2:
            r = self.grp.unprotect_request(m, replay=ctl & 4 != 0)
        elif ctl & 4:
            w = self.grp.start_response(m, B(CO.OSC_GSRV, CO.OSC_PHANTOM_PIV, CO.OSC_GID))
            r = None
            if w is not None:
                while r is None:
                    r = w.step(1)
                r = r or None
        else:
            r = self.grp.unprotect_response(m, B(CO.OSC_GSRV, CO.OSC_PHANTOM_PIV, CO.OSC_GID))
        after = ctx.stats.total()
        if r is None:
            assert after == before + 1, "a rejection must be counted once"
            return
        assert after == before, "an accepted message must not be counted as rejected"
        plain = r[0] if kind in (0, 2) else r
        p = msg.decode(plain)
        assert (1 <= p.code <= 31) == (kind in (0, 2)), "request/response code kept apart"
        assert not p.has(9), "no OSCORE option in the plain message"


# what each target may raise (its documented errors)
ALLOWED = {
    "msg": (msg.DecodeError,),
    "cbor": (cbor.CBORDecodeError,),
    "inforesp": (inforesp.InfoRespError,),
    "client": (),
    "clientseq": (),
    "server": (),
    "pm": (),
    "proxy": (),
    "oscoreopt": (msg.DecodeError,),
    "unprotect": (msg.DecodeError,),
}


def target(name):
    if name == "server":
        return ServerTarget()
    if name == "proxy":
        from tools.fuzz.proxy import ProxyTarget
        return ProxyTarget()
    if name == "unprotect":
        return OscoreTarget()
    return {"msg": msg_target, "cbor": cbor_target, "inforesp": inforesp_target, "client": client_target,
            "clientseq": clientseq_target, "pm": pm_target, "oscoreopt": oscoreopt_target}[name]


NAMES = ("msg", "cbor", "inforesp", "client", "clientseq", "server", "pm", "oscoreopt", "unprotect", "proxy")
