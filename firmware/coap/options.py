# The option table, in one place (RFC 7252 §5.4, §5.10, §12.2; RFC 7641; RFC 7967;
# draft-tiloca-core-observe-multicast-notifications-04 §5, §9.1; draft-ietf-core-coap-pm §3).
# The draft options have TBD numbers: our defaults lie in the experimental range and can be
# changed with configure() on both sides (client and server must agree).
from coap.compat import const

IF_MATCH = const(1)
URI_HOST = const(3)
ETAG = const(4)
IF_NONE_MATCH = const(5)
OBSERVE = const(6)
URI_PORT = const(7)
LOCATION_PATH = const(8)
URI_PATH = const(11)
CONTENT_FORMAT = const(12)
MAX_AGE = const(14)
URI_QUERY = const(15)
ACCEPT = const(17)
LOCATION_QUERY = const(20)
BLOCK2 = const(23)
BLOCK1 = const(27)
SIZE2 = const(28)
PROXY_URI = const(35)
PROXY_SCHEME = const(39)
SIZE1 = const(60)
NO_RESPONSE = const(258)

# Numbers the drafts leave TBD (overridable, see configure()).
MRFD = 65002          # Multicast-Response-Feedback-Divider: elective, unsafe (draft §5)
LTMR = 65003          # Listen-To-Multicast-Responses: critical, unsafe (draft §9.1)
PM = 65006            # Performance Measurement: elective, unsafe (coap-pm §3)
CF_INFORMATIVE = 65000  # Content-Format application/informative-response+cbor (draft §13.2)

# Content-Formats used by the product.
CF_TEXT = const(0)
CF_LINK_FORMAT = const(40)
CF_OCTETS = const(42)
CF_JSON = const(50)
CF_CBOR = const(60)

# Formats.
EMPTY = const(0)
OPAQUE = const(1)
UINT = const(2)
STRING = const(3)

# Maximum No-Response value: suppress 2.xx, 4.xx and 5.xx (RFC 7967 §2).
NO_RESPONSE_ALL = const(26)

# number -> (name, format, min length, max length, repeatable)
_TABLE = {
    IF_MATCH: ("If-Match", OPAQUE, 0, 8, True),
    URI_HOST: ("Uri-Host", STRING, 1, 255, False),
    ETAG: ("ETag", OPAQUE, 1, 8, True),
    IF_NONE_MATCH: ("If-None-Match", EMPTY, 0, 0, False),
    OBSERVE: ("Observe", UINT, 0, 3, False),
    URI_PORT: ("Uri-Port", UINT, 0, 2, False),
    LOCATION_PATH: ("Location-Path", STRING, 0, 255, True),
    URI_PATH: ("Uri-Path", STRING, 0, 255, True),
    CONTENT_FORMAT: ("Content-Format", UINT, 0, 2, False),
    MAX_AGE: ("Max-Age", UINT, 0, 4, False),
    URI_QUERY: ("Uri-Query", STRING, 0, 255, True),
    ACCEPT: ("Accept", UINT, 0, 2, False),
    LOCATION_QUERY: ("Location-Query", STRING, 0, 255, True),
    BLOCK2: ("Block2", UINT, 0, 3, False),
    BLOCK1: ("Block1", UINT, 0, 3, False),
    SIZE2: ("Size2", UINT, 0, 4, False),
    PROXY_URI: ("Proxy-Uri", STRING, 1, 1034, False),
    PROXY_SCHEME: ("Proxy-Scheme", STRING, 1, 255, False),
    SIZE1: ("Size1", UINT, 0, 4, False),
    NO_RESPONSE: ("No-Response", UINT, 0, 1, False),
}


def _draft_entries():
    return {
        MRFD: ("Multicast-Response-Feedback-Divider", UINT, 0, 1, False),
        LTMR: ("Listen-To-Multicast-Responses", OPAQUE, 3, 1024, False),
        PM: ("PM", UINT, 0, 1, False),
    }


_TABLE.update(_draft_entries())


def configure(mrfd=None, ltmr=None, pm=None, cf_informative=None):
    """Override the TBD numbers (both sides of a deployment must agree). All or nothing."""
    global MRFD, LTMR, PM, CF_INFORMATIVE
    new = [MRFD if mrfd is None else mrfd, LTMR if ltmr is None else ltmr, PM if pm is None else pm]
    cf = CF_INFORMATIVE if cf_informative is None else cf_informative
    old = (MRFD, LTMR, PM)
    for n in new:
        if not 0 < n <= 0xFFFF:
            raise ValueError("option number %r out of range" % (n,))
        if n in _TABLE and n not in old:
            raise ValueError("option number %d is taken by %s" % (n, _TABLE[n][0]))
    if len(set(new)) != 3:
        raise ValueError("draft option numbers must differ")
    if not 0 <= cf <= 0xFFFF:
        raise ValueError("content-format out of range")
    for n in old:
        del _TABLE[n]
    MRFD, LTMR, PM = new
    CF_INFORMATIVE = cf
    _TABLE.update(_draft_entries())
    return MRFD, LTMR, PM, CF_INFORMATIVE


# RFC 7252 §5.4.6: properties follow from the number.
def critical(num):
    return num & 1 == 1


def unsafe(num):
    return num & 2 == 2


def no_cache_key(num):
    return num & 0x1E == 0x1C


def known(num):
    return num in _TABLE


def info(num):
    """(name, format, min length, max length, repeatable) or None."""
    return _TABLE.get(num)


def name(num):
    e = _TABLE.get(num)
    return e[0] if e else "Option-%d" % num


def check_length(num, length):
    """True if a value of this length is allowed for a known option (unknown: always True)."""
    e = _TABLE.get(num)
    if e is None:
        return True
    return e[2] <= length <= e[3]


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
