# Client-core fixtures shared by test_client*, test_spoofing, test_reregister (both runtimes): the
# draft -04 §4 example (SRV 192.0.2.10, the group 233.252.0.23, token T), a client core with a
# seeded Rng, and builders for its inputs. Kept apart from tu.py, which every fw test imports: these
# cost the heap of a 192k run that the decoder tests need to compile the fuzz corpus.
from coap import client, msg, inforespenc
from coap import options as o
from tu import h, Rng

SRV = ("192.0.2.10", 5683)
SRV_RAW = h("c000020a")            # 192.0.2.10
GRP = ("233.252.0.23", 5683)
GRP_RAW = h("e9fc0017")
T = b"\x7b"
PH_REQ = h("01 60 51 72")          # GET, Observe 0, Uri-Path "r"
LAST = h("45 61 0a 61 3c ff 64 31 32 33 34")   # 2.05, Observe 10, CF 60, "1234"
NOTIF = h("51 45 00 03 7b 61 0b 61 3c ff 64 35 36 37 38")  # §4 multicast notification, Observe 11


class Sink:
    """An observation's callbacks: what it delivered, and why it ended."""

    def __init__(self):
        self.got = []
        self.ended = []

    def __call__(self, payload, cf, v, via):
        self.got.append((bytes(payload), cf, v, via))

    def end(self, obs, reason):
        self.ended.append(reason)


def mk(seed=42, **kw):
    """A client core with a seeded Rng; its log lines in c.logs."""
    logs = []
    c = client.Client(rng=Rng(seed), log=logs.append, **kw)
    c.logs = logs
    return c


def reg(c, now=0, path="r", dest=SRV, opts=None):
    """Observe; return (observation, sink, decoded registration)."""
    s = Sink()
    ob = c.observe(dest, opts or [(o.URI_PATH, path)], s, now, s.end)
    out = c.take()
    assert len(out) == 1 and out[0][1] == dest, out
    return ob, s, msg.decode(out[0][0])


def resp(mtype, code, mid, tok, observe=None, payload=b"", cf=None, extra=()):
    opts = list(extra)
    if observe is not None:
        opts.append((o.OBSERVE, observe))
    if cf is not None:
        opts.append((o.CONTENT_FORMAT, cf))
    return msg.encode(mtype, code, mid, tok, opts, payload)


def sent(c):
    """What the core wants to send, decoded: [(Msg, destination)]."""
    return [(msg.decode(b), d) for b, d in c.take()]


def info(tok, mid=0x99, token=T, srv=SRV_RAW, srv_port=5683, grp=GRP_RAW, cli_port=5683, last=LAST,
         ph=PH_REQ, payload=None):
    """The CON 5.03 informative response (§2.2) carrying the given tp_info."""
    if payload is None:
        payload = inforespenc.build(ph, last, token, srv, srv_port, grp, cli_port)
    return msg.encode(msg.CON, msg.SERVICE_UNAVAILABLE, mid, tok, [(o.CONTENT_FORMAT, o.CF_INFORMATIVE)], payload)


def notif(v, payload=b"x", mid=None, tok=T, extra=(), code=msg.CONTENT):
    """A NON notification with Observe v, Content-Format 0."""
    return resp(msg.NON, code, (v & 0xFFFF) if mid is None else mid, tok, v, payload, 0, extra)


def grouped(c=None, now=0, path="r", dest=SRV, **kw):
    """Register, get the empty ACK and then the separate CON informative response (§4)."""
    c = c or mk()
    ob, s, r = reg(c, now, path, dest)
    c.receive(msg.empty(msg.ACK, r.mid), dest, now + 1)
    c.receive(info(ob.token, **kw), dest, now + 2)
    out = sent(c)
    assert [(m.type, m.code) for m, d in out] == [(msg.ACK, 0)] and out[0][1] == dest  # ACK the CON 5.03
    return c, ob, s
