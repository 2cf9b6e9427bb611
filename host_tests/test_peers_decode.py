# aiocoap, an independent implementation, decodes the bytes our codec emits (CPython only).
import aiocoap
from aiocoap.numbers.codes import Code

from coap import msg, inforesp, inforespenc, cborenc
from coap import options as o


def test_aiocoap_decodes_section4_messages():
    reg = msg.encode(msg.CON, msg.GET, 1, b"\x4a", [(o.OBSERVE, 0), (o.URI_PATH, "r")])
    m = aiocoap.Message.decode(reg)
    assert m.code == Code.GET and m.opt.observe == 0 and m.opt.uri_path == ("r",) and m.token == b"\x4a"
    pl = inforespenc.build(b"\x01\x60\x51\x72", bytes.fromhex("45610a613cff6431323334"), b"\x7b",
                        bytes([192, 0, 2, 10]), 5683, bytes([233, 252, 0, 23]), 5683)
    ir = msg.encode(msg.CON, msg.SERVICE_UNAVAILABLE, 2, b"\x4a", [(o.CONTENT_FORMAT, o.CF_INFORMATIVE)], pl)
    m = aiocoap.Message.decode(ir)
    assert m.code == Code.SERVICE_UNAVAILABLE and int(m.opt.content_format) == 65000 and m.payload == pl
    n = msg.encode(msg.NON, msg.CONTENT, 3, b"\x7b", [(o.OBSERVE, 11), (o.CONTENT_FORMAT, 60)], cborenc.dumps("5678"))
    m = aiocoap.Message.decode(n)
    assert m.opt.observe == 11 and m.payload == b"\x645678"


def test_aiocoap_decodes_draft_options():
    b = msg.encode(msg.NON, msg.GET, 9, b"\x01\x02", [(o.OBSERVE, 0), (o.URI_PATH, "r"), (o.NO_RESPONSE, 26),
                                                     (o.MRFD, None), (o.PM, 0x60)])
    m = aiocoap.Message.decode(b)
    nums = [int(x.number) for x in m.opt.option_list()]
    assert 65002 in nums and 65006 in nums and m.opt.no_response == 26
    out = aiocoap.Message(code=Code.GET, uri_path=("r",), observe=0)
    out.mtype, out.mid, out.token = aiocoap.NON, 9, b"\x01\x02"   # wire fields, set as a transport would
    out.opt.add_option(aiocoap.optiontypes.UintOption(o.PM, 0x60))
    out.opt.add_option(aiocoap.optiontypes.OpaqueOption(o.MRFD, b""))
    back = msg.decode(out.encode())
    assert back.opt_len(o.MRFD) == 0 and back.uint(o.PM) == 0x60 and back.uint(o.OBSERVE) == 0 and back.path() == "/r"
