# The server's discovery resource (draft -04 Appendix A.1, tools/server/discovery.py) on the
# sans-I/O core with a fake clock: the CBOR map {path: informative-response payload}, filters, the
# latest notification as last_notif, and what a board does with it (coap.join.start).
import random

from coap import client, msg, inforesp, cbor, join
from coap import options as o
from tools.proxy.sim import Server
from tools.server.core import ServerCore, Config
from tools.server.discovery import Discovery
from tools.server.resources import Resource

C = ("127.0.0.1", 40001)
GRP = ("233.252.0.9", 5683)


def core():
    res = [Resource("/r", "0", 0, group_after=0, writable=True, rt="counter"),
           Resource("/s", "a", 0, group_after=0, rt="temperature"),
           Resource("/t", "x", 0), Discovery()]
    s = Server(ServerCore(res, Config(srv_addr="127.0.0.1", grp=GRP, notify_interval_ms=0), rng=random.Random(3)))
    return s


_mid = [100]


def get(s, *queries, now=0):
    q = [(o.URI_QUERY, x) for x in queries]
    _mid[0] += 1
    s.receive(msg.encode(msg.CON, msg.GET, _mid[0], b"\x01", [(o.URI_PATH, "ps"), (o.URI_PATH, "topics")] + q),
              C, now)
    out = [msg.decode(b) for b, d in s.take()]
    assert len(out) == 1 and out[0].type == msg.ACK and out[0].code == msg.CONTENT
    assert out[0].uint(o.CONTENT_FORMAT) == 60
    return cbor.loads(bytes(out[0].payload()))


def test_lists_running_group_observations_with_informative_payloads():
    s = core()
    assert get(s) == {}                       # no group observation yet
    for p in ("/r", "/s"):
        s._keep(s.core.start_group(p, 0))
    doc = get(s, "x=1")
    assert sorted(doc) == ["/r", "/s"]
    g = s.core.group_for("/r")
    assert doc["/r"] == g.info_payload()
    r = inforesp.parse(doc["/r"])
    assert r.token == g.token and (r.cli_addr, r.cli_port) == (bytes([233, 252, 0, 9]), 5683)
    assert sorted(get(s, "href=/s")) == ["/s"] and sorted(get(s, "rt=counter")) == ["/r"]
    assert get(s, "href=/t") == {} and get(s, "rt=nothing") == {}
    assert g.counter.count == 2               # each GET listing /r (x=1, rt=counter) counted it as a taking-part client


def test_last_notif_is_the_latest_notification_and_a_board_joins_with_it():
    s = core()
    s._keep(s.core.start_group("/r", 0))
    s.update("/r", "41", 10)
    s.update("/r", "42", 20)
    mc = [msg.decode(b) for b, d in s.take() if d == GRP]
    doc = get(s, "href=/r", now=30)
    c = client.Client(rng=random.Random(1), log=lambda *a: None)
    got = []
    ob = join.start(c, doc["/r"], lambda p, cf, v, via: got.append((bytes(p), v)), 40)
    assert ob.state == client.GROUP and c.groups == {GRP: 1} and c.take() == []
    assert got == [(b"42", mc[-1].uint(o.OBSERVE))]
    s.update("/r", "43", 50)
    for b, d in s.take():
        c.receive(b, ("127.0.0.1", 5683), 60, d)
    assert got[-1][0] == b"43"


def test_discovery_is_listed_in_well_known_core():
    s = core()
    s.receive(msg.encode(msg.CON, msg.GET, 1, b"", [(o.URI_PATH, ".well-known"), (o.URI_PATH, "core")]), C, 0)
    body = bytes(msg.decode(s.take()[0][0]).payload()).decode()
    assert '</ps/topics>;ct=60;rt="core.mc-discovery"' in body
