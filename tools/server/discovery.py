"""Group observation data from discovery (draft -04 Appendix A.1): a resource listing, per
group-observed resource with an active group observation, what a client needs to take part with no
registration: ph_req, last_notif and tp_info.

    GET /ps/topics[?href=/r][&rt=counter]      (the path is configurable: server --discovery PATH)
    2.05 Content-Format 60 (application/cbor)
    { "/r": h'A3 01 <ph_req> 02 <last_notif> 03 <tp_info>', ... }

A CBOR map from each resource's path (text) to a byte string holding exactly the payload its
informative response would carry (§2.2: the map with keys 1 ph_req, 2 last_notif, 3 tp_info, and
4..12 when Group OSCORE adds them), built by the same encoder (GroupObservation.info_payload), so
last_notif is the latest multicast notification at the time of the GET. A board hands the byte
string to coapcast.Client.join() as it is (no CBOR encoder on the board). The draft's CoRAL example
is illustrative; this is our encoding. Filters: href= (a path), rt= (the resource type); a filter
that matches nothing gives an empty map. A resource appears once its group observation runs (server
--policy start: from start-up, for publish-subscribe settings).

Counting: a client that fetched the data takes part with no registration, so nothing else would tell
the observer counter about it; B.3 then computes COUNT' + (E - N) / D = 0 + (1 - 1) / 4 = 0 for a
lone joined client answering the first poll, and cancels. Each GET therefore adds 1 to the counter
of every group observation it lists, as a registration does (§2.2); rough counting (§5.2) corrects
the estimate for fetches that did not lead to a client.
"""
from coap import cborenc
from coap import optinfo as o   # the whole option table (coap.options and more)

from tools.server.resources import Resource

DEFAULT_PATH = "/ps/topics"


class Discovery(Resource):
    def __init__(self, path=DEFAULT_PATH):
        Resource.__init__(self, path, b"", o.CF_CBOR, observable=False, rt="core.mc-discovery",
                          title="group observations (draft Appendix A.1)")

    def render(self, core, m, now):
        """The representation now (ServerCore asks a resource with render() instead of its value)."""
        href = rt = None
        for q in m.opts(o.URI_QUERY):
            k, _, v = bytes(q).partition(b"=")
            if k == b"href":
                href = v.decode("utf-8", "replace")
            elif k == b"rt":
                rt = v.decode("utf-8", "replace")
        doc = {}
        for res in core.resources.values():
            g = res.group
            if g is None or (href is not None and res.path != href) or (rt is not None and res.rt != rt):
                continue
            doc[res.path] = g.info_payload()
            g.counter.add(1)
        return cborenc.dumps(doc)
