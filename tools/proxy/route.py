"""Where a proxied request goes and what travels on (RFC 7252 §5.7.1-§5.7.2, §5.10.2, §6.4; RFC 8768).

route(m, resolve, next_hop, hop_limit) reads a decoded request and returns a Route, or raises
Refused(code, why, counter): the proxy then answers the request itself with that code and `why` as
the diagnostic payload (RFC 7252 §5.5.2), and counts it under `counter`.

Option rules (RFC 7252 §5.4.2, §5.7.1):
  Proxy-Uri / Proxy-Scheme + Uri-Host/Uri-Port/Uri-Path/Uri-Query   the target (consumed; kept as they
        are when forwarding to a next-hop proxy). Proxy-Uri takes precedence over the Uri-* options.
  Observe, Multicast-Response-Feedback-Divider, PM, Listen-To-Multicast-Responses, Hop-Limit
        handled by the proxy itself (see the Route fields)
  No-Response, Block1, Block2   understood: forwarded as they are
  any other safe-to-forward option    forwarded untouched
  any other unsafe option             5.02 Bad Gateway (the proxy does not know how to forward it)
"""
from coap import addr, uri
from coap import msg
from coap import optinfo as o   # the whole option table (coap.options and more)

HOP_LIMIT = 16                 # RFC 8768 option number (elective, safe-to-forward)
BAD_GATEWAY = 0xA2             # 5.02
GATEWAY_TIMEOUT = 0xA4         # 5.04
PROXYING_NOT_SUPPORTED = 0xA5  # 5.05
HOP_LIMIT_REACHED = 0xA8       # 5.08 (RFC 8768)
DEFAULT_PORT = 5683

_TARGET = (o.PROXY_URI, o.PROXY_SCHEME, o.URI_HOST, o.URI_PORT, o.URI_PATH, o.URI_QUERY)


class Refused(Exception):
    """The proxy answers the request itself: CoAP `code`, diagnostic `why`, stats `counter`."""

    def __init__(self, code, why, counter):
        Exception.__init__(self, why)
        self.code = code
        self.why = why
        self.counter = counter


class Route:
    """A request's way on. dest: (host, port) of the next hop; opts: [(number, value)] it carries
    (without Observe); key: the observation's identity at the proxy (dest + cache-key options, RFC
    7641 §5); observe: the Observe value or None; mrfd: an MRFD option was present (a confirmation,
    §5.1); pm: the PM option's value or None; ltmr: the Listen-To-Multicast-Responses value or None
    (§9.1); nr: the No-Response value (RFC 7967, 0 = none); uri: the target as text (logs)."""
    __slots__ = ("dest", "opts", "key", "observe", "mrfd", "pm", "ltmr", "nr", "uri")


def _text(v, what):
    try:
        return bytes(v).decode()
    except UnicodeError:
        raise Refused(msg.BAD_REQUEST, "%s is not UTF-8" % what, "bad_request")


def _has_port(text):
    """True if the authority of a coap:// URI carries an explicit port."""
    auth = text[7:].split("/", 1)[0].split("?", 1)[0]
    return ":" in auth.rsplit("]", 1)[-1]


def route(m, resolve=None, next_hop=None, hop_limit=None):
    """The Route of request m (a decoded coap.msg.Msg). resolve(name) -> (address, port or None) or
    None: the driver's name table (no DNS here). next_hop: (host, port) of the next proxy towards the
    servers, or None (this proxy talks to the origin servers)."""
    puri = m.opt(o.PROXY_URI)
    pscheme = m.opt(o.PROXY_SCHEME)
    if puri is None and pscheme is None:
        raise Refused(msg.NOT_FOUND, "a forward proxy: no Proxy-Uri or Proxy-Scheme", "not_proxied")
    if puri is not None:  # §5.10.2: takes precedence over the Uri-* options
        text = _text(puri, "Proxy-Uri")
        scheme = text.split(":", 1)[0].lower() if ":" in text else ""
        if scheme != "coap":
            raise Refused(PROXYING_NOT_SUPPORTED, "scheme %r is not proxied (coap only)" % scheme[:16],
                          "unsupported_scheme")
        try:
            host, port, path = uri.parse("coap" + text[len(scheme):])
        except ValueError as e:
            raise Refused(msg.BAD_REQUEST, "bad Proxy-Uri: %s" % str(e)[:80], "bad_request")
        explicit = _has_port(text)
        given = [(o.PROXY_URI, text)]
    else:
        scheme = _text(pscheme, "Proxy-Scheme").lower()
        if scheme != "coap":
            raise Refused(PROXYING_NOT_SUPPORTED, "scheme %r is not proxied (coap only)" % scheme[:16],
                          "unsupported_scheme")
        h = m.opt(o.URI_HOST)
        if h is None:  # §6.5: the host would default to this proxy itself
            raise Refused(msg.BAD_REQUEST, "Proxy-Scheme without Uri-Host", "bad_request")
        host = _text(h, "Uri-Host").strip("[]")
        port = m.uint(o.URI_PORT, DEFAULT_PORT)
        explicit = m.has(o.URI_PORT)
        path = [(o.URI_PATH, v) for v in m.opts(o.URI_PATH)] + [(o.URI_QUERY, v) for v in m.opts(o.URI_QUERY)]
        given = [(n, v) for n, v in m.items() if n in _TARGET]
        if not 0 < port <= 0xFFFF:
            raise Refused(msg.BAD_REQUEST, "bad Uri-Port", "bad_request")
    r = Route()
    r.uri = "coap://%s:%d%s" % (host, port, "".join("/" + (v if isinstance(v, str) else bytes(v).decode("utf-8", "replace"))
                                                   for n, v in path if n == o.URI_PATH))
    try:
        ip = addr.parse_ip(host)
    except ValueError:
        ip = None
    named = ip is None
    if next_hop is not None:  # RFC 7252 §5.7: the next proxy needs the target as it was given
        r.dest = next_hop
        fwd = given
    else:
        if ip is not None:
            dest = (addr.ip_str(ip), port)
        else:
            found = resolve(host.lower()) if resolve is not None else None
            if found is None:
                raise Refused(BAD_GATEWAY, "cannot resolve %s" % host[:64], "unresolved")
            a, p = found
            dest = (a, port if explicit or p is None else p)
            ip = addr.parse_ip(a)
        if addr.is_multicast(ip) or addr.is_link_local(ip):
            raise Refused(PROXYING_NOT_SUPPORTED, "multicast or link-local targets are not proxied", "bad_target")
        r.dest = dest
        fwd = []
        if named:
            fwd.append((o.URI_HOST, host.lower()))  # §6.4 step 5: a name goes in Uri-Host
        if explicit and port != dest[1]:
            fwd.append((o.URI_PORT, port))         # §6.4 step 6
        fwd += path
    r.observe = None
    r.mrfd = False
    r.pm = None
    r.ltmr = None
    r.nr = 0
    hop = None
    for num, val in m.items():
        if num in _TARGET:
            continue
        if num == o.OBSERVE:
            r.observe = int.from_bytes(val, "big") if len(val) <= 3 else None
            if r.observe is None:
                raise Refused(msg.BAD_REQUEST, "bad Observe", "bad_request")
        elif num == o.MRFD:
            r.mrfd = True
        elif num == o.PM:
            r.pm = int.from_bytes(val, "big") if len(val) <= 1 else None
        elif num == o.LTMR:
            r.ltmr = bytes(val)
        elif num == HOP_LIMIT:
            hop = int.from_bytes(val, "big") if len(val) == 1 else 0
            if hop <= 1:  # RFC 8768 §3: 0 is malformed, 1 cannot be decremented further
                raise Refused(HOP_LIMIT_REACHED if hop == 1 else msg.BAD_REQUEST, "Hop-Limit reached", "hop_limit")
        elif num in (o.NO_RESPONSE, o.BLOCK1, o.BLOCK2) or not o.unsafe(num):
            if num == o.NO_RESPONSE:
                r.nr = int.from_bytes(val, "big") if len(val) <= 1 else 0
            fwd.append((num, bytes(val)))
        else:
            raise Refused(BAD_GATEWAY, "unsafe option %d is not proxied" % num, "unsafe_option")
    if hop is not None:
        fwd.append((HOP_LIMIT, hop - 1))
    elif hop_limit:
        fwd.append((HOP_LIMIT, hop_limit))
    r.opts = fwd
    r.key = (r.dest, tuple((n, o.encode_value(n, v)) for n, v in fwd
                           if n not in (o.NO_RESPONSE, HOP_LIMIT) and not o.no_cache_key(n)))
    return r
