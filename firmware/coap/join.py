# Appendix A.1: take part in a group observation from discovery data, with no registration
# (coapcast.Client.join). A board loads this module only when it joins this way (RAM). It reuses the
# client core's informative-response path (§3.2) as the registration's answer would.
from coap import addr, inforesp, msgcore, options
from coap.compat import ticks_ms, ticks_diff

_ACK = 2
_UNAVAILABLE = 0xA3
_CONTENT = 0x45
_GET = 1
_GROUP = 2      # coap.client.GROUP


def start(core, data, cb, now, on_end=None):
    """A group observation in `core` (a coap.client.Client) from data: an informative response's
    payload (ph_req, last_notif, tp_info). cb gets last_notif first (§3.2 step 5); MRFD feedback
    (§5.1) and a registration after silence go to SRV_ADDR:SRV_PORT with the phantom request's
    options. ValueError: bad data (nothing is left behind)."""
    r = inforesp.parse(data)
    ph = msgcore.Msg(8).decode(msgcore.from_tim(r.ph_req, b""))
    o = core._new((addr.ip_str(r.srv_addr), r.srv_port), [kv for kv in ph.items() if kv[0] != options.OBSERVE], cb)
    o.retried = True  # bad data ends it (no registration to retry)
    core._informative(o, msgcore.Msg().decode(msgcore.encode(_ACK, _UNAVAILABLE, 0, b"", (), data)), o.dest, now)
    if o.state != _GROUP:
        raise ValueError(o.error or "not a group observation")
    if on_end is not None:
        o.on_end = on_end
    return o


def pick(data, path):
    """The informative-response payload for `path` in discovery data {path: payload} (the server's
    tools/server/discovery.py), or data itself when it is one informative response's map."""
    from coap import cbor
    m = cbor.loads(data)
    if not isinstance(m, dict) or not m:
        raise ValueError("discovery data is not a non-empty CBOR map")
    if path is None:
        for k in m:
            if not isinstance(k, str):
                return data  # keys 1, 2, 3: the informative response's own map
            if len(m) > 1:
                raise ValueError("discovery data lists %d resources: give path=" % len(m))
            path = k
    v = m.get(path)
    if not isinstance(v, bytes):
        raise ValueError("discovery data has no group observation of %s" % path)
    return v


def fetch(client, uri, timeout_ms):
    """GET a discovery resource with a coapcast.Client, running its loop until the answer. OSError
    when it is not a 2.05 within timeout_ms."""
    got = []
    client.post(uri, b"", lambda code, p, cf: got.append((code, bytes(p) if code else b"")), method=_GET)
    t0 = ticks_ms()
    while not got and ticks_diff(ticks_ms(), t0) < timeout_ms:
        client.service(20)
    if not got or got[0][0] != _CONTENT:
        c = got[0][0] if got else None
        raise OSError("discovery %s: %s" % (uri, "no answer" if c is None else "%d.%02d" % (c >> 5, c & 31)))
    return got[0][1]
