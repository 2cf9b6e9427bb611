# coap://host[:port]/path?query -> (host, port, options) (RFC 7252 §6.4, simplified: no
# percent-encoding beyond %XX, IPv6 literals in brackets).
from coap import options

from coap.compat import const

_DEFAULT_PORT = const(5683)


def _unq(s):
    if "%" not in s:
        return s
    out = bytearray()
    b = s.encode()
    i = 0
    while i < len(b):
        if b[i] == 37 and i + 2 < len(b):
            out.append(int(b[i + 1:i + 3], 16))
            i += 3
        else:
            out.append(b[i])
            i += 1
    return bytes(out).decode()


def parse(uri):
    """Returns (host, port, [(Uri-Path, seg)..., (Uri-Query, q)...]). Raises ValueError."""
    if not uri.startswith("coap://"):
        raise ValueError("only coap:// URIs are supported: %r" % uri)
    rest = uri[7:]
    cut = len(rest)
    for ch in "/?":
        k = rest.find(ch)
        if 0 <= k < cut:
            cut = k
    auth, rest = rest[:cut], rest[cut:]
    port = _DEFAULT_PORT
    if auth.startswith("["):
        k = auth.find("]")
        if k < 0:
            raise ValueError("unterminated IPv6 literal in %r" % uri)
        host, tail = auth[1:k], auth[k + 1:]
        if tail:
            if not tail.startswith(":"):
                raise ValueError("bad authority in %r" % uri)
            port = int(tail[1:])
    else:
        host = auth
        if ":" in auth:
            host, p = auth.split(":")
            port = int(p)
    if not host or not 0 < port <= 0xFFFF:
        raise ValueError("bad host or port in %r" % uri)
    opts = []
    query = ""
    if "?" in rest:
        rest, query = rest.split("?", 1)
    for seg in rest.split("/")[1:]:
        if seg:
            opts.append((options.URI_PATH, _unq(seg)))
    if query:
        for q in query.split("&"):
            opts.append((options.URI_QUERY, _unq(q)))
    return host, port, opts
