# Notification reordering (RFC 7641 §3.4): is a notification (V2 received at T2) fresher than
# the one the client holds (V1 received at T1)? Observe values are 24-bit serial numbers;
# after 128 seconds any notification is taken as fresh. Times are ticks in milliseconds.
from coap.compat import const, ticks_diff

_HALF = const(0x800000)  # 2**23
_FRESH_MS = const(128000)


def fresher(v1, t1, v2, t2):
    """True if (v2, t2) is newer than (v1, t1) per RFC 7641 §3.4."""
    if v1 < v2:
        if v2 - v1 < _HALF:
            return True
    elif v1 > v2:
        if v1 - v2 > _HALF:
            return True
    return ticks_diff(t2, t1) > _FRESH_MS
