# The informative response payload (draft -04 §2.2, §2.2.2.1, §10):
#   {1: ph_req, 2: last_notif, 3: tp_info, ?4..12}
#   tp_info = [1, token, #6.260(srv_addr), srv_port, #6.260(cli_addr), ?cli_port]
# ph_req / last_notif carry transport-independent message information (§2.2.1, see inforespenc.to_tim).
# This module only parses (the board); coap.inforespenc builds the payload (the server).
from coap import cbor
from coap.msgcore import Msg, DecodeError
from coap.compat import const

# The key map of the profile we speak (-04): key k is named KEYS[k - 1]; 1-3 are required, 4.. are
# the Group OSCORE guidance (§6.1). A later profile would be a second map.
KEYS = ("ph_req", "last_notif", "tp_info", "join_uri", "sec_gp", "as_uri", "cs_alg", "cs_crv", "cs_kty",
        "cs_kenc", "alg", "hkdf")
_PH_REQ = const(1)
_LAST_NOTIF = const(2)
_TP_INFO = const(3)
_TEXT = const(0x0070)          # bit k set: key k is a text string (4-6); 10 is an int, 7-9, 11, 12 either
_TP_UDP = const(1)              # §11 Transport Protocol Identifiers (coap.inforespenc.TP_UDP)
_TAG_NETADDR = const(260)       # "Network Address (IPv4 or IPv6 or MAC Address)"
_DEFAULT_PORT = const(5683)


# A missing or malformed field (the message names it): the board's one exception class for
# malformed input (coap.msgcore.DecodeError, a ValueError), under this module's name.
InfoRespError = DecodeError


class InfoResp:
    """A parsed informative response. Addresses are raw 4/16-byte strings."""

    def __init__(self):
        self.ph_req = b""
        self.last_notif = b""
        self.token = b""
        self.srv_addr = b""
        self.srv_port = 0
        self.cli_addr = b""
        self.cli_port = _DEFAULT_PORT
        self.extra = {}  # keys 4-12 (Group OSCORE guidance, §6.1), by name


def _addr(v, name):
    if not isinstance(v, cbor.Tag) or v.tag != _TAG_NETADDR or not isinstance(v.value, bytes) \
            or len(v.value) not in (4, 16):
        raise InfoRespError("tp_info: %s is not a tag-260 address" % name)
    return v.value


def _port(v, name):
    if not isinstance(v, int) or isinstance(v, bool) or not 0 < v <= 0xFFFF:
        raise InfoRespError("tp_info: %s is not a port number" % name)
    return v


def _tim(v, name, t):
    """A transport-independent message (§2.2.1): a request (t true) or a response."""
    if not isinstance(v, bytes):
        raise InfoRespError("%s is missing or not a byte string" % name)
    try:
        m = Msg(8)
        m.decode(b"\x40" + v[:1] + b"\0\0" + v[1:])
    except DecodeError as e:
        raise InfoRespError("%s: %s" % (name, e))
    if not (1 <= v[0] <= 31 if t else v[0] >= 64):
        raise InfoRespError("%s: wrong code %d" % (name, v[0]))
    return v


def read_tp(r, tp):
    """tp_info (§2.2.2.1; also the value of Listen-To-Multicast-Responses, §9.1) into r's token,
    srv_addr, srv_port, cli_addr, cli_port. Raises InfoRespError naming the bad element."""
    if not isinstance(tp, list) or not tp:
        raise InfoRespError("tp_info is missing or not a non-empty array")
    if tp[0] != _TP_UDP:
        raise InfoRespError("tp_info: unsupported tp_id %r" % (tp[0],))
    if len(tp) not in (5, 6):
        raise InfoRespError("tp_info: UDP needs 5 or 6 elements, got %d" % len(tp))
    if not isinstance(tp[1], bytes) or len(tp[1]) > 8:
        raise InfoRespError("tp_info: token is not 0-8 bytes")
    r.token = tp[1]
    r.srv_addr = _addr(tp[2], "srv_addr")
    r.srv_port = _port(tp[3], "srv_port")
    r.cli_addr = _addr(tp[4], "cli_addr")
    r.cli_port = _port(tp[5], "cli_port") if len(tp) == 6 else _DEFAULT_PORT


def parse(payload):
    """Parse and validate the payload. Raises InfoRespError naming the bad field."""
    try:
        m = cbor.loads(payload)
    except cbor.CBORDecodeError as e:
        raise InfoRespError("payload is not CBOR: %s" % e)
    if not isinstance(m, dict):
        raise InfoRespError("payload is not a CBOR map")
    r = InfoResp()
    r.ph_req = _tim(m.get(_PH_REQ), "ph_req", True)
    r.last_notif = _tim(m.get(_LAST_NOTIF), "last_notif", False)
    read_tp(r, m.get(_TP_INFO))
    for k, v in m.items():
        if type(k) is not int or not 4 <= k <= len(KEYS):
            continue  # keys 1-3 are done; unknown keys are ignored
        name = KEYS[k - 1]
        if not isinstance(v, int if k == 10 else str if (1 << k) & _TEXT else (int, str)):
            raise InfoRespError("%s has the wrong type" % name)
        r.extra[name] = v
    return r
