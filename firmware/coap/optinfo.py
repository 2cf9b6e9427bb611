# The whole option table for the server, proxy, tools and tests (RFC 7252 §5.4.6, §5.10): properties
# from the number, length bounds, names, the numbers and Content-Formats a board never uses. Kept out
# of coap.options so a board does not hold them (RAM). Everything coap.options has is reachable here
# too (optinfo.URI_PATH, optinfo.MRFD as configured, optinfo.configure): host code imports this one
# module as `o`. Names follow coap.options._T entry by entry. optinfo -> options only (no cycle).
from coap import options as _options
from coap.options import _find, _T

_CONFIGURABLE = ("MRFD", "LTMR", "PM", "CF_INFORMATIVE")   # options.configure() rebinds these


def __getattr__(name):
    """coap.options' names: constants are cached here on first use, the configurable numbers are
    read from options every time (always the configured value)."""
    if name[:2] == "__":
        raise AttributeError(name)
    v = getattr(_options, name)   # AttributeError: neither module has it
    if name not in _CONFIGURABLE:
        globals()[name] = v
    return v

# The rest of the option numbers (RFC 7252 §5.10, §12.2), by name (options.<NAME> too).
IF_MATCH = 1
ETAG = 4
IF_NONE_MATCH = 5
LOCATION_PATH = 8
ACCEPT = 17
LOCATION_QUERY = 20
BLOCK2 = 23
BLOCK1 = 27
SIZE2 = 28
SIZE1 = 60

# Content-Formats used by the product.
CF_TEXT = 0
CF_LINK_FORMAT = 40
CF_OCTETS = 42
CF_JSON = 50
CF_CBOR = 60

# Value formats (coap.options._T, info()).
EMPTY = 0
OPAQUE = 1
UINT = 2
STRING = 3

_NAMES = "If-Match Uri-Host ETag If-None-Match Observe Uri-Port Location-Path Uri-Path Content-Format Max-Age Uri-Query Accept Location-Query Block2 Block1 Size2 Proxy-Uri Proxy-Scheme Size1 No-Response Multicast-Response-Feedback-Divider Listen-To-Multicast-Responses PM"


def info(num):
    """(name, format, min length, max length, repeatable) or None."""
    i = _find(num)
    if i < 0:
        return None
    t = _T
    return (_NAMES.split()[i // 6], t[i + 2] >> 1, t[i + 3], (t[i + 4] << 8) | t[i + 5], t[i + 2] & 1 == 1)


def name(num):
    i = _find(num)
    return _NAMES.split()[i // 6] if i >= 0 else "Option-%d" % num


# RFC 7252 §5.4.6: properties follow from the number.
def critical(num):
    return num & 1 == 1


def unsafe(num):
    return num & 2 == 2


def no_cache_key(num):
    return num & 0x1E == 0x1C


def known(num):
    return _find(num) >= 0


def check_length(num, length):
    """True if a value of this length is allowed for a known option (unknown: always True)."""
    i = _find(num)
    if i < 0:
        return True
    t = _T
    return t[i + 3] <= length <= (t[i + 4] << 8) | t[i + 5]
