# The ticket request (draft -04 §9.2), the client's side: a board whose protected informative response
# came through a proxy sends it, so that the proxy adjacent to the origin server listens to the group
# for it (tools/proxy/ticket.py is that proxy's side). Loaded by coap.groupsec on the first such
# informative response only (RAM).
#
#   ticket request = the phantom request as ph_req carries it, protected (its Code, outer options,
#                    ciphertext | signature: the OSCORE option and all, kid context included as
#                    §9.2 says, where Appendix D's figure leaves it out)
#                    + outer Observe 0
#                    + Proxy-Scheme, Uri-Host, Uri-Port as the original registration had them on the
#                      wire (a Proxy-Uri is split into them as OSCORE does, RFC 8613 §4.1.3.3)
#                    + Listen-To-Multicast-Responses = the serialized tp_info array (§9.1:
#                      [1, token, srv_addr, srv_port, cli_addr, ?cli_port]; Appendix D writes the
#                      token first, the body's §2.2.2 order is the one used)
# It is a new request with a token of its own (Appendix D: 0x4b after 0x4a); the proxy's unicast
# notifications of the group observation then come on that token.
from coap import msgcore, options, oscore, cose
from coap.cborenc import dumps
from coap.inforespenc import tp_info
from coap.compat import ticks_diff, ticks_add

_CON = 0
_OBSERVE = 6
_PROXY_URI = 35
_TARGET = (3, 7, 39)      # Uri-Host, Uri-Port, Proxy-Scheme (class U, RFC 8613 §4.1.2)
_DROP = (3, 6, 7, 35, 39)  # the phantom request's own target and Observe: set here


def ltmr_value(r):
    """The Listen-To-Multicast-Responses value (§9.1): tp_info of the parsed informative response r."""
    return dumps(tp_info(r))


def proxy_opts(opts):
    """The outer Proxy-Scheme / Uri-Host / Uri-Port of a registration whose options are `opts` (as
    coap.client keeps them, encoded), the way the OSCORE protection put them on the wire."""
    plain = msgcore.encode(_CON, 1, 0, b"", msgcore.Msg(8).decode(b"\x40\x01\x00\x00" + opts).items())
    return [kv for kv in oscore.split(plain, oscore.OUTER)[1] if kv[0] in _TARGET]


def build(ph_prot, r, opts, token, mid):
    """The ticket request, a CON datagram: ph_prot the protected phantom request's transport-independent
    information (ph_req as the informative response carried it), r the parsed informative response,
    opts the registration's encoded options. ValueError if ph_prot is no protected request."""
    ph = msgcore.Msg(8).decode(msgcore.from_tim(ph_prot, b""))
    if ph.find(cose.OSCORE) < 0 or not ph.has_payload():
        raise ValueError("ph_req is not protected")
    out = [kv for kv in ph.items() if kv[0] not in _DROP]
    out.append((_OBSERVE, 0))
    out += proxy_opts(opts)
    out.append((options.LTMR, ltmr_value(r)))
    return msgcore.encode(_CON, ph.code, mid, token, out, ph.payload())


class Ticket:
    """The ticket request of one proxied observation, from the informative response until the proxy
    answered it: sent at the core's next tick once the core accepted the informative response (state
    PROXY), retransmitted as a CON (RFC 7252 §4.2), open until the first verified notification through
    the proxy (until then an unprotected error from the proxy is the proxy's answer to it, RFC 8613
    §8.4: the observation ends with it)."""

    def __init__(self, data, token, mid, now):
        self.data = data
        self.token = token
        self.mid = mid
        self.due = now        # when it goes (again)
        self.timeout = 0
        self.tries = -1       # -1: not sent yet
        self.acked = False

    def step(self, core, now):
        """Send or retransmit when due: the datagram, or None (not due, acknowledged, or the tries
        are used up: then self.tries > core.max_retransmit)."""
        if self.acked or ticks_diff(now, self.due) < 0:
            return None
        self.tries += 1
        if self.tries > core.max_retransmit:
            return None
        if self.tries == 0:  # initial timeout: random in [ACK_TIMEOUT, ACK_TIMEOUT * ACK_RANDOM_FACTOR]
            span = int(core.ack_timeout_ms * (core.ack_random_factor - 1))
            self.timeout = core.ack_timeout_ms + ((core.rng.getrandbits(16) * span) >> 16)
        else:
            self.timeout *= 2
        self.due = ticks_add(now, self.timeout)
        return self.data
