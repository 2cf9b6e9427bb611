# coap://host[:port]/path?query -> (host, port, options) (RFC 7252 §6.4, simplified: no
# percent-encoding beyond %XX, IPv6 literals in brackets).
from coap import options, addr

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


def _host(host, uri):
    """RFC 3986 §3.2.2 reg-name (the characters a host name can have) or a dotted IPv4 address."""
    if not host:
        raise ValueError("no host in %r" % uri)
    digits = True
    for ch in host:
        if not (ch.isalpha() or ch.isdigit() or ch in "-._~%"):
            raise ValueError("bad host %r in %r" % (host, uri))
        if not (ch.isdigit() or ch == "."):
            digits = False
    if digits:
        addr.parse_ip(host)  # all digits and dots: must be an IPv4 address


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
    p = None
    if auth.startswith("["):
        k = auth.find("]")
        if k < 0:
            raise ValueError("unterminated IPv6 literal in %r" % uri)
        host, tail = auth[1:k], auth[k + 1:]
        if tail:
            if not tail.startswith(":"):
                raise ValueError("bad authority in %r" % uri)
            p = tail[1:]
        addr.parse_ip(host)  # ValueError("bad IP address ...")
    else:
        host = auth
        if ":" in auth:
            host, p = auth.split(":", 1)
            if ":" in p:
                raise ValueError("an IPv6 address goes in brackets: %r" % uri)
        _host(host, uri)
    port = _DEFAULT_PORT
    if p:  # "host:" is the default port (RFC 3986 §3.2.3)
        port = int(p) if p.isdigit() else 0
        if not 0 < port <= 0xFFFF:
            raise ValueError("bad port %r in %r (expected 1..65535)" % (p, uri))
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
