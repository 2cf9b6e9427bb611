# The one address normaliser. Sockets hand out the peer as a tuple (CPython, ESP32, RP2040)
# or as raw sockaddr bytes (MicroPython unix port); the draft carries raw 4/16-byte addresses
# (tp_info, tag 260). Everything else in the stack uses (host string, port).
from coap.compat import const

_AF_INET = const(2)    # sa_family values in a raw sockaddr (Linux, the unix port)
_AF_INET6 = const(10)
_BAD = "bad IP address %r"


def parse_ip(s):
    """Text address -> 4 or 16 raw bytes. Raises ValueError."""
    if ":" not in s:
        parts = s.split(".")
        if len(parts) != 4:
            raise ValueError(_BAD % s)
        out = bytearray(4)
        for k in range(4):
            p = parts[k]
            if not p or not p.isdigit() or len(p) > 3 or int(p) > 255:
                raise ValueError(_BAD % s)
            out[k] = int(p)
        return bytes(out)
    s = s.split("%")[0]  # drop a zone index
    tail4 = b""
    if "." in s:  # ::ffff:1.2.3.4
        cut = s.rfind(":")
        tail4 = parse_ip(s[cut + 1:])
        s = s[:cut + 1] + "0:0"
    if s.count("::") > 1:
        raise ValueError(_BAD % s)
    if "::" in s:
        head, rest = s.split("::")
        hs = head.split(":") if head else []
        ts = rest.split(":") if rest else []
        fill = 8 - len(hs) - len(ts)
        if fill < 1:
            raise ValueError(_BAD % s)
        groups = hs + ["0"] * fill + ts
    else:
        groups = s.split(":")
    if len(groups) != 8:
        raise ValueError(_BAD % s)
    out = bytearray(16)
    for k in range(8):
        g = groups[k]
        if not 1 <= len(g) <= 4:
            raise ValueError(_BAD % s)
        try:
            v = int(g, 16)
        except ValueError:
            raise ValueError(_BAD % s)
        out[2 * k] = v >> 8
        out[2 * k + 1] = v & 0xFF
    if tail4:
        out[12:16] = tail4
    return bytes(out)


def ip_str(raw):
    """4 or 16 raw bytes -> text (RFC 5952 compressed form for IPv6)."""
    n = len(raw)
    if n == 4:
        return "%d.%d.%d.%d" % (raw[0], raw[1], raw[2], raw[3])
    if n != 16:
        raise ValueError("an IP address has 4 or 16 bytes, not %d" % n)
    g = [0] * 8
    for k in range(8):
        g[k] = (raw[2 * k] << 8) | raw[2 * k + 1]
    best, blen, k = -1, 1, 0
    while k < 8:  # longest run of zero groups (length >= 2)
        if g[k] == 0:
            j = k
            while j < 8 and g[j] == 0:
                j += 1
            if j - k > blen:
                best, blen = k, j - k
            k = j
        else:
            k += 1
    out = ""
    k = 0
    while k < 8:
        if k == best:
            out += "::"
            k += blen
            continue
        if out and out[-1] != ":":
            out += ":"
        out += "%x" % g[k]
        k += 1
    return out


def is_multicast(raw):
    return (len(raw) == 4 and raw[0] & 0xF0 == 0xE0) or (len(raw) == 16 and raw[0] == 0xFF)


def is_link_local(raw):
    """Link-local addresses MUST NOT appear in registrations or tp_info (draft §2.2, §3.1)."""
    if len(raw) == 4:
        return raw[0] == 169 and raw[1] == 254
    return (raw[0] == 0xFE and raw[1] & 0xC0 == 0x80) or (raw[0] == 0xFF and raw[1] & 0x0F == 2)


_last = [None, None]  # the last raw sockaddr and its (host, port)


def norm(src):
    """A socket's peer address -> (host string, port). Cached for raw sockaddr bytes, so a
    run of datagrams from one sender (the multicast notifications) allocates nothing."""
    if isinstance(src, tuple):
        return src if len(src) == 2 else (src[0].split("%")[0], src[1])
    last = _last
    if src == last[0]:
        return last[1]
    src = bytes(src)
    if len(src) < 8:
        raise ValueError("sockaddr too short")
    fam = src[0] | (src[1] << 8)  # sa_family in host (little-endian) order
    if fam != _AF_INET and fam != _AF_INET6:
        fam = (src[0] << 8) | src[1]
    port = (src[2] << 8) | src[3]
    if fam == _AF_INET:
        host = ip_str(src[4:8])
    elif fam == _AF_INET6 and len(src) >= 24:
        host = ip_str(src[8:24])
    else:
        raise ValueError("unknown sockaddr family %d" % fam)
    last[0] = src
    last[1] = (host, port)
    return last[1]


_sa_cache = {}


def sockaddr(host, port):
    """(host, port) -> what sendto() takes on this runtime: a tuple on CPython and the lwIP
    ports, raw sockaddr bytes on the unix port (from getaddrinfo). Cached."""
    key = (host, port)
    sa = _sa_cache.get(key)
    if sa is None:
        import socket
        sa = socket.getaddrinfo(host, port, 0, 2)[0][-1]  # 2 = SOCK_DGRAM
        if len(_sa_cache) >= 32:
            _sa_cache.clear()
        _sa_cache[key] = sa
    return sa
