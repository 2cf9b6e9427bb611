# Protected group observations with a real peer (aiocoap 0.4.17, aiocoap.oscore: groupcomm-23) over real
# UDP on 127.0.0.1 (draft -04 §6-7), its contexts made from the same key files (python -m tools.oscore_keys):
#  1. an aiocoap group member registers at our server (--oscore) with aiocoap's RFC 8613 context, reads
#     the informative response with it (CBOR by cbor2), verifies the phantom request and last_notif, joins
#     the group and verifies the server's multicast notifications, all with aiocoap's Group OSCORE;
#  2. a board (MicroPython unix port, coapcast.Client(oscore=...)) registers at a server whose every
#     protection is aiocoap's (pairwise informative response, group-mode phantom request, last_notif and
#     multicast notifications): it verifies and delivers them.
import ipaddress
import os
import socket
import time
import warnings

import cbor2
import pytest

warnings.filterwarnings("ignore", category=DeprecationWarning, module="aiocoap")
import aiocoap  # noqa: E402
import aiocoap.oscore as ao  # noqa: E402

from tools import oscore_keys  # noqa: E402
from tools.soak import Server, GROUP  # noqa: E402
from tools.soak.oscore import keys, start_board, OscoreBoardLog  # noqa: E402
from tools.util import free_port, group_socket  # noqa: E402
from helpers import aiocoap_group, aiocoap_in, aiocoap_msg, aiocoap_out  # noqa: E402

CCM = ao.algorithms["AES-CCM-16-64-128"]


class _Pair(ao.CanProtect, ao.CanUnprotect, ao.SecurityContextUtils):
    def post_seqnoincrease(self):
        pass


def a_pair(p, seq=0):
    """aiocoap's RFC 8613 context from a key file's oscore entry."""
    c = _Pair()
    c.alg_aead = CCM
    c.hashfun = ao.hashfunctions["sha256"]
    c.sender_id, c.recipient_id, c.id_context = p["sender_id"], p["recipient_id"], p.get("id_context")
    c.derive_keys(p.get("master_salt") or b"", p["master_secret"])
    c.sender_sequence_number = seq
    c.recipient_replay_window = ao.ReplayWindow(32, lambda: None)
    c.recipient_replay_window.initialize_empty()
    c.echo_recovery = None
    return c


def a_group(kf):
    """aiocoap's SimpleGroupContext for the member whose key file this is."""
    g = kf["group"]
    return aiocoap_group(g["alg_signature"], g["gid"], g["master_secret"], g.get("master_salt") or b"",
                         g["sender_id"], g["private_key"], {k: v["cred"] for k, v in g["members"].items()})


def _rebuild(tim, token, mtype=aiocoap.NON):
    """§3.2 steps 2 and 4: a message from transport-independent information and T (written here
    independently of coap.msgcore.from_tim)."""
    return bytes([0x40 | ({aiocoap.NON: 1, aiocoap.CON: 0}[mtype] << 4) | len(token), tim[0], 0, 0]) + token + tim[1:]


@pytest.mark.parametrize("alg", ["ed25519", "es256"])
def test_aiocoap_member_verifies_our_multicast_notifications(tmp_path, alg):
    kd = keys(tmp_path, n=2, alg=alg)
    srv = Server(extra=["--oscore", kd + "/server.json", "--update", "/r=0.2", "--interval", "0.2"],
                 ack_timeout_ms=500).start()
    try:
        kf = oscore_keys.load(os.path.join(kd, "c2.json"))
        pair = a_pair(kf["oscore"][0], seq=7)
        member = a_group(kf)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.settimeout(5)
        outer, rid = pair.protect(aiocoap_msg(code=aiocoap.GET, observe=0, uri_path=["r"]))
        s.sendto(aiocoap_out(outer, aiocoap.CON, 0x4242, b"\x4a\x01"), ("127.0.0.1", srv.port))
        info = None
        while info is None:   # the empty ACK, then the CON informative response
            data, src = s.recvfrom(2048)
            m = aiocoap_in(data)
            if m.code == aiocoap.EMPTY:
                continue
            assert m.mtype == aiocoap.CON and m.token == b"\x4a\x01" and m.opt.object_security is not None
            s.sendto(aiocoap_out(aiocoap_msg(code=aiocoap.EMPTY), aiocoap.ACK, m.mid, b""), src)
            info, _ = pair.unprotect(m, rid)
        assert info.code == aiocoap.SERVICE_UNAVAILABLE and info.opt.content_format == 65000
        pl = cbor2.loads(info.payload)
        assert pl[5] == "myGroup" and pl[4].endswith("/myGroup")
        tp = pl[3]
        T = tp[1]
        # (cbor2 decodes tag 260 "Network Address" into an ipaddress object)
        assert tp[0] == 1 and tp[2] == ipaddress.IPv4Address("127.0.0.1") and tp[3] == srv.port
        grp = (str(tp[4]), tp[5] if len(tp) > 5 else 5683)
        # §6.3.1: the phantom request and last_notif, verified by aiocoap
        ph = aiocoap_in(_rebuild(pl[1], T))
        assert ph.code == aiocoap.FETCH
        sc = member.get_oscore_context_for(ao.verify_start(ph))
        uph, prid = sc.unprotect(ph)
        assert uph.code == aiocoap.GET and uph.opt.observe == 0 and uph.opt.uri_path == ("r",)
        srv_kid = prid.kid
        req = ao.RequestIdentifiers(srv_kid, prid.partial_iv, False, aiocoap.FETCH)

        def verify(data):
            m = aiocoap_in(data)
            return member.context_from_response(ao.verify_start(m)).unprotect(m, req)[0]
        last = verify(_rebuild(pl[2], T))
        assert last.code == aiocoap.CONTENT and last.payload.isdigit()
        # the multicast notifications, over UDP multicast on loopback
        rx = group_socket(grp[0], grp[1], 5)
        got = []
        while len(got) < 5:
            data, src = rx.recvfrom(2048)
            m = aiocoap_in(data)
            if src != ("127.0.0.1", srv.port) or m.token != T:
                continue
            assert m.mtype == aiocoap.NON and m.code == aiocoap.CONTENT and m.opt.content_format is None
            n = verify(data)
            assert n.code == aiocoap.CONTENT and n.opt.content_format == 0
            got.append(int(n.payload))
        assert got == sorted(got) and got[0] >= int(last.payload)
        rx.close()
        s.close()
    finally:
        srv.stop()
    assert "OSCORE" in srv.output()


def test_board_verifies_aiocoap_protected_notifications(tmp_path):
    kd = keys(tmp_path, n=2)
    skf = oscore_keys.load(os.path.join(kd, "server.json"))
    pair = a_pair([p for p in skf["oscore"] if p["peer"] == "c1"][0], seq=301)
    gsrv = a_group(skf)
    gsrv.sender_sequence_number = 501
    port, gport = free_port(), free_port()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
    s.settimeout(10)
    board = start_board(kd, "c1", "coap://127.0.0.1:%d/r" % port, 5000)
    try:
        while True:   # the board's protected registration, verified by aiocoap
            data, bsrc = s.recvfrom(2048)
            reg = aiocoap_in(data)
            if reg.code == aiocoap.FETCH:
                break
        ureg, rid = pair.unprotect(reg)
        assert ureg.code == aiocoap.GET and ureg.opt.observe == 0 and ureg.opt.uri_path == ("r",)
        s.sendto(aiocoap_out(aiocoap_msg(code=aiocoap.EMPTY), aiocoap.ACK, reg.mid, b""), bsrc)
        T = b"\x7b\x7b"
        ph, prid = gsrv.protect(aiocoap_msg(code=aiocoap.GET, observe=0, uri_path=["r"]))
        ph_b = aiocoap_out(ph, aiocoap.NON, 0, T)
        notif = 0

        def notification(k):
            o, _ = gsrv.protect(aiocoap_msg(code=aiocoap.CONTENT, observe=k, content_format=0, payload=b"%d" % k), prid)
            return aiocoap_out(o, aiocoap.NON, 0x100 + k, T)
        last_b = notification(notif)
        tp = [1, T, cbor2.CBORTag(260, bytes([127, 0, 0, 1])), port, cbor2.CBORTag(260, socket.inet_aton(GROUP)), gport]
        payload = cbor2.dumps({1: ph_b[1:2] + ph_b[4 + len(T):], 2: last_b[1:2] + last_b[4 + len(T):], 3: tp,
                               4: "coap://gm.invalid/ace-group/myGroup", 5: "myGroup"})
        inf, _ = pair.protect(aiocoap_msg(code=aiocoap.SERVICE_UNAVAILABLE, content_format=65000, payload=payload), rid)
        s.sendto(aiocoap_out(inf, aiocoap.CON, 0x5151, reg.token), bsrc)
        time.sleep(1.0)
        for k in range(1, 6):
            s.sendto(notification(k), (GROUP, gport))
            time.sleep(0.2)
        log = OscoreBoardLog(board.communicate(timeout=60)[0])
    finally:
        s.close()
        if board.poll() is None:
            board.kill()
    assert [p for p in log.payloads()] == ["0", "1", "2", "3", "4", "5"], log.out[-3000:]
    assert [via for t, v, via, p in log.notifs] == [1] * 6
    assert log.sec["informative"] == 1 and log.sec["verified"] == 5 and sum(log.rejects.values()) == 0, log.out
