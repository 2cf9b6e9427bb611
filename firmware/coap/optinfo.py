# Option names and the table entry as a tuple, for logs, tools and tests: kept out of coap.options
# so a board does not hold the strings (RAM). The names follow coap.options._T, entry by entry.
from coap import options

_NAMES = "If-Match Uri-Host ETag If-None-Match Observe Uri-Port Location-Path Uri-Path Content-Format Max-Age Uri-Query Accept Location-Query Block2 Block1 Size2 Proxy-Uri Proxy-Scheme Size1 No-Response Multicast-Response-Feedback-Divider Listen-To-Multicast-Responses PM"


def info(num):
    """(name, format, min length, max length, repeatable) or None."""
    i = options._find(num)
    if i < 0:
        return None
    t = options._T
    return (_NAMES.split()[i // 6], t[i + 2] >> 1, t[i + 3], (t[i + 4] << 8) | t[i + 5], t[i + 2] & 1 == 1)


def name(num):
    i = options._find(num)
    return _NAMES.split()[i // 6] if i >= 0 else "Option-%d" % num
