# Rough counting of clients, client side (draft -04 §5.1, Appendix B): on a multicast notification
# carrying Multicast-Response-Feedback-Divider = Q, answer with probability 2**-Q: after a random
# fraction of the leisure time, a NON GET Observe 0 with No-Response 26 and an empty MRFD option,
# to the destination of the original registration.
# `rng` is anything with getrandbits(k), k <= 32 (the random module, or a seeded instance).
import random

from coap import msgcore as msg, options
from coap.compat import const

_UINT_BIT = const(32)          # Appendix B.2: CHAR_BIT * sizeof(unsigned int)


def respond_to(q, rng=random):
    """Appendix B.2 (bit mask): True with probability 2**-q. Q at or above the word size consumes
    whole random words first, exactly as the pseudo-code does. (B.1 is the tests' reference, not
    shipped: RAM; another method: Client(feedback_method=fn).)"""
    while q >= _UINT_BIT:
        if rng.getrandbits(_UINT_BIT) != 0:
            return False
        q -= _UINT_BIT
    return rng.getrandbits(_UINT_BIT) & ((1 << q) - 1) == 0


def delay_ms(leisure_ms, rng=random):
    """A random fraction of the leisure time, in ms (Appendix B: randomFloat(0, 1) * LEISURE_TIME;
    RFC 7252 §8.2, default coap.params.DEFAULT_LEISURE)."""
    return (rng.getrandbits(16) * leisure_ms) >> 16


def request(mid, token, opts, extra=()):
    """The feedback re-registration (§5.1): NON GET, Observe 0, the original request's options
    (Uri-Path, Proxy-Uri, ...), No-Response 26, MRFD with an empty value. MRFD goes in no other request."""
    o = [(options.OBSERVE, 0), (options.NO_RESPONSE, options.NO_RESPONSE_ALL), (options.MRFD, None)]
    o.extend(opts)
    o.extend(extra)
    return msg.encode(msg.NON, msg.GET, mid, token, o)
