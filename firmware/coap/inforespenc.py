# Building the informative response payload (draft -04 §2.2, §2.2.2.1, §10): the server's half of
# coap.inforesp (the board only parses, so it never imports this module: RAM).
#   {1: ph_req, 2: last_notif, 3: tp_info, ?4..12}
#   tp_info = [1, token, #6.260(srv_addr), srv_port, #6.260(cli_addr), ?cli_port]
from coap.cbor import Tag
from coap.cborenc import dumps
from coap.inforesp import InfoRespError, KEYS

TP_UDP = 1          # §11 Transport Protocol Identifiers (coap.inforesp checks the same values)
TAG_NETADDR = 260   # "Network Address (IPv4 or IPv6 or MAC Address)"
DEFAULT_PORT = 5683

PH_REQ, LAST_NOTIF, TP_INFO = (KEYS.index(n) + 1 for n in ("ph_req", "last_notif", "tp_info"))


def to_tim(buf):
    """The transport-independent information of a serialised message (§2.2.1):
    code | options | 0xFF payload (msg.from_tim is the inverse)."""
    from coap.msg import Msg  # (a board builds tp_info only, coap.ticket: no full codec in RAM)
    m = Msg().decode(buf)
    return bytes(buf[1:2]) + bytes(buf[4 + m.tkl:])


def tp_info(r):
    """The tp_info array of a parsed InfoResp r (cli_port left out when it is 5683)."""
    t = [TP_UDP, r.token, Tag(TAG_NETADDR, r.srv_addr), r.srv_port, Tag(TAG_NETADDR, r.cli_addr)]
    if r.cli_port != DEFAULT_PORT:
        t.append(r.cli_port)
    return t


def build(ph_req, last_notif, token, srv_addr, srv_port, cli_addr, cli_port=None, extra=None):
    """Serialise the payload. Addresses are raw bytes; cli_port None leaves it out (5683).
    extra: {key 4..12: value} (Group OSCORE guidance, §6.1)."""
    for what, a in (("srv_addr", srv_addr), ("cli_addr", cli_addr)):
        if len(a) not in (4, 16):
            raise InfoRespError("tp_info: %s must have 4 or 16 bytes" % what)
    tp = [TP_UDP, bytes(token), Tag(TAG_NETADDR, bytes(srv_addr)), srv_port, Tag(TAG_NETADDR, bytes(cli_addr))]
    if cli_port is not None:
        tp.append(cli_port)
    m = {PH_REQ: bytes(ph_req), LAST_NOTIF: bytes(last_notif), TP_INFO: tp}
    if extra:
        for k, v in extra.items():
            if not 4 <= k <= len(KEYS):
                raise InfoRespError("unknown informative-response key %r" % (k,))
            m[k] = v
    return dumps(m)
