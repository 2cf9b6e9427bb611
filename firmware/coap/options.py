# The option table, in one place (RFC 7252 §5.4, §5.10, §12.2; RFC 7641; RFC 7967;
# draft-tiloca-core-observe-multicast-notifications-04 §5, §9.1; draft-ietf-core-coap-pm §3).
# The draft options have TBD numbers: our defaults lie in the experimental range and can be
# changed with configure() on both sides (client and server must agree).
from coap.compat import const

# The numbers a board uses. The rest of RFC 7252's table, the Content-Formats, the value formats and
# the table queries are coap.optinfo's (host side; it reaches everything here too). optinfo imports
# this module, never the other way round.
URI_HOST = const(3)
OBSERVE = const(6)
URI_PORT = const(7)
URI_PATH = const(11)
CONTENT_FORMAT = const(12)
MAX_AGE = const(14)
URI_QUERY = const(15)
PROXY_URI = const(35)
PROXY_SCHEME = const(39)
NO_RESPONSE = const(258)

# Numbers the drafts leave TBD (overridable, see configure()).
MRFD = 65002          # Multicast-Response-Feedback-Divider: elective, unsafe (draft §5)
LTMR = 65003          # Listen-To-Multicast-Responses: critical, unsafe (draft §9.1)
PM = 65006            # Performance Measurement: elective, unsafe (coap-pm §3)
CF_INFORMATIVE = 65000  # Content-Format application/informative-response+cbor (draft §13.2)

# Maximum No-Response value: suppress 2.xx, 4.xx and 5.xx (RFC 7967 §2).
NO_RESPONSE_ALL = const(26)

# The table, packed for RAM (one bytes object, no per-entry tuples): 6 bytes per option,
#   number (2, big-endian; 0 for the draft options, whose numbers configure() sets),
#   format << 1 | repeatable, min length, max length (2).
# The draft options come last, in the order MRFD, LTMR, PM. Names: coap.optinfo, same order.
_T = (
    b"\x00\x01\x03\x00\x00\x08"  # 1     If-Match       opaque 0-8 repeatable
    b"\x00\x03\x06\x01\x00\xff"  # 3     Uri-Host       string 1-255
    b"\x00\x04\x03\x01\x00\x08"  # 4     ETag           opaque 1-8 repeatable
    b"\x00\x05\x00\x00\x00\x00"  # 5     If-None-Match  empty  0-0
    b"\x00\x06\x04\x00\x00\x03"  # 6     Observe        uint   0-3
    b"\x00\x07\x04\x00\x00\x02"  # 7     Uri-Port       uint   0-2
    b"\x00\x08\x07\x00\x00\xff"  # 8     Location-Path  string 0-255 repeatable
    b"\x00\x0b\x07\x00\x00\xff"  # 11    Uri-Path       string 0-255 repeatable
    b"\x00\x0c\x04\x00\x00\x02"  # 12    Content-Format uint   0-2
    b"\x00\x0e\x04\x00\x00\x04"  # 14    Max-Age        uint   0-4
    b"\x00\x0f\x07\x00\x00\xff"  # 15    Uri-Query      string 0-255 repeatable
    b"\x00\x11\x04\x00\x00\x02"  # 17    Accept         uint   0-2
    b"\x00\x14\x07\x00\x00\xff"  # 20    Location-Query string 0-255 repeatable
    b"\x00\x17\x04\x00\x00\x03"  # 23    Block2         uint   0-3
    b"\x00\x1b\x04\x00\x00\x03"  # 27    Block1         uint   0-3
    b"\x00\x1c\x04\x00\x00\x04"  # 28    Size2          uint   0-4
    b"\x00\x23\x06\x01\x04\x0a"  # 35    Proxy-Uri      string 1-1034
    b"\x00\x27\x06\x01\x00\xff"  # 39    Proxy-Scheme   string 1-255
    b"\x00\x3c\x04\x00\x00\x04"  # 60    Size1          uint   0-4
    b"\x01\x02\x04\x00\x00\x01"  # 258   No-Response    uint   0-1
    b"\x00\x00\x04\x00\x00\x01"  # draft Multicast...   uint   0-1
    b"\x00\x00\x02\x03\x04\x00"  # draft Listen...      opaque 3-1024
    b"\x00\x00\x04\x00\x00\x01"  # draft PM             uint   0-1
)
_N = const(20)  # static entries (before the draft ones)


def _find(num):
    """Offset of num's entry in _T, or -1."""
    if num == MRFD:
        return _N * 6
    if num == LTMR:
        return _N * 6 + 6
    if num == PM:
        return _N * 6 + 12
    t = _T
    for i in range(0, _N * 6, 6):
        if (t[i] << 8) | t[i + 1] == num:
            return i
    return -1


def configure(mrfd=None, ltmr=None, pm=None, cf_informative=None):
    """Override the TBD numbers (both sides of a deployment must agree). All or nothing."""
    global MRFD, LTMR, PM, CF_INFORMATIVE
    new = [MRFD if mrfd is None else mrfd, LTMR if ltmr is None else ltmr, PM if pm is None else pm]
    cf = CF_INFORMATIVE if cf_informative is None else cf_informative
    old = (MRFD, LTMR, PM)
    for n in new:
        if not 0 < n <= 0xFFFF:
            raise ValueError("option number %r out of range" % (n,))
        if n not in old and _find(n) >= 0:
            raise ValueError("option number %d is taken" % n)
    if len(set(new)) != 3:
        raise ValueError("draft option numbers must differ")
    if not 0 <= cf <= 0xFFFF:
        raise ValueError("content-format out of range")
    MRFD, LTMR, PM = new
    CF_INFORMATIVE = cf
    return MRFD, LTMR, PM, CF_INFORMATIVE


def uint_bytes(v):
    """Shortest big-endian encoding of an unsigned int (0 is empty, RFC 7252 §3.2)."""
    if v < 0:
        raise ValueError("uint option value is negative")
    n = 0
    t = v
    while t:
        n += 1
        t >>= 8
    out = bytearray(n)
    while n:
        n -= 1
        out[n] = v & 0xFF
        v >>= 8
    return bytes(out)


def encode_value(num, value):
    """bytes for an option value given as int (uint), str (string), bytes-like or None (empty)."""
    if value is None:
        return b""
    if isinstance(value, int):
        return uint_bytes(value)
    if isinstance(value, str):
        return value.encode()
    return bytes(value)
