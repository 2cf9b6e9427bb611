# tools/wireshark/coapcast.lua under tshark: field values of the §4 flow, PM flows (both
# patterns), an LTMR ticket request (§9.2), malformed informative responses, and a live capture
# of the server's PM-marked traffic on loopback.
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

from coap import msg, inforespenc, cborenc, pm
from coap import options as o
from tools.wireshark import pcap

TSHARK = shutil.which("tshark")
LUA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools", "wireshark", "coapcast.lua")
pytestmark = pytest.mark.skipif(TSHARK is None, reason="tshark missing (make test installs it with apt-get)")

h = bytes.fromhex
SRV = ("192.0.2.10", 5683)
C1 = ("192.0.2.1", 5683)
GRP = ("233.252.0.23", 5683)
PAYLOAD = inforespenc.build(h("01605172"), h("45610a613cff6431323334"), b"\x7b", h("c000020a"), 5683,
                            h("e9fc0017"), 5683)
TP_INFO = h("86 01 41 7b d90104 44 c000020a 191633 d90104 44 e9fc0017 191633")


def fields(path, names, *extra):
    p = subprocess.run([TSHARK, "-X", "lua_script:" + LUA, "-r", path, "-T", "fields"] + list(extra)
                       + sum((["-e", n] for n in names), []), capture_output=True, text=True, timeout=60)
    assert "Lua Error" not in p.stdout + p.stderr, p.stdout + p.stderr
    return [dict(zip(names, row.split("\t"))) for row in p.stdout.splitlines()]


def test_section4_flow(tmp_path):
    path = str(tmp_path / "s4.pcap")
    reg = msg.encode(msg.CON, msg.GET, 1, b"\x4a", [(o.OBSERVE, 0), (o.URI_PATH, "r")])
    ir = msg.encode(msg.CON, msg.SERVICE_UNAVAILABLE, 2, b"\x4a", [(o.CONTENT_FORMAT, o.CF_INFORMATIVE)], PAYLOAD)
    notif = msg.encode(msg.NON, msg.CONTENT, 3, b"\x7b", [(o.OBSERVE, 11), (o.CONTENT_FORMAT, 60), (o.MRFD, 3)],
                       cborenc.dumps("5678"))
    fb = msg.encode(msg.NON, msg.GET, 4, b"\x11", [(o.OBSERVE, 0), (o.URI_PATH, "r"), (o.MRFD, b""),
                                                   (o.NO_RESPONSE, 26)])
    pcap.write(path, [(reg, C1, SRV), (ir, SRV, C1), (notif, SRV, GRP), (fb, C1, SRV)])
    names = ["frame.number", "coapcast.tp_info.tp_id", "coapcast.tp_info.token", "coapcast.tp_info.srv_addr",
             "coapcast.tp_info.srv_port", "coapcast.tp_info.cli_addr", "coapcast.tp_info.cli_port",
             "coapcast.ir.ph_req.code", "coapcast.ir.last_notif.code", "coapcast.ir.last_notif.observe",
             "coapcast.mrfd", "coapcast.mrfd.confirmation", "coap.opt.uri_path", "coapcast.malformed"]
    rows = fields(path, names)
    assert [r["coapcast.tp_info.token"] for r in rows] == ["", "7b", "", ""]
    ir_row = rows[1]
    assert ir_row["coapcast.tp_info.tp_id"] == "1"
    assert ir_row["coapcast.tp_info.srv_addr"] == "192.0.2.10" and ir_row["coapcast.tp_info.srv_port"] == "5683"
    assert ir_row["coapcast.tp_info.cli_addr"] == "233.252.0.23" and ir_row["coapcast.tp_info.cli_port"] == "5683"
    assert ir_row["coapcast.ir.ph_req.code"] == "0.01" and ir_row["coapcast.ir.last_notif.code"] == "2.05"
    assert ir_row["coapcast.ir.last_notif.observe"] == "10"
    # ph_req is shown as a CoAP message: its Uri-Path "r" is decoded by Wireshark's CoAP dissector
    assert "r" in ir_row["coap.opt.uri_path"].split(",")
    assert rows[2]["coapcast.mrfd"] == "3" and rows[3]["coapcast.mrfd.confirmation"] == "1"
    assert all(r["coapcast.malformed"] == "" for r in rows)


def test_pm_both_patterns(tmp_path):
    path = str(tmp_path / "pm.pcap")
    dg = []
    want = []
    for i, (pat, q, s, c, ev) in enumerate([(0, 0, 0, 0, 0x00), (0, 1, 0, 0, 0x00), (0, 0, 1, 0, 0x1e), (1, 0, 0, 1, 0x00),
                                            (1, 0, 0, 0, 0x3d)]):
        v = pm.encode(pat, q=q, s=s, c=c, event=ev)
        dg.append((msg.encode(msg.NON, msg.POST, i, b"\x01", [(o.URI_PATH, "t"), (o.PM, v)]), C1, SRV))
        want.append((pat, q, s, c, ev, v))
    pcap.write(path, dg)
    names = ["coapcast.pm", "coapcast.pm.pattern", "coapcast.pm.q", "coapcast.pm.s", "coapcast.pm.c",
             "coapcast.pm.event", "coapcast.pm.event.valid", "coapcast.pm.event.loss_level",
             "coapcast.pm.event.delay_level"]
    rows = fields(path, names)
    assert len(rows) == 5
    for r, (pat, q, s, c, ev, v) in zip(rows, want):
        assert int(r["coapcast.pm"], 16) == v and r["coapcast.pm.pattern"] == str(pat)
        assert int(r["coapcast.pm.event"], 16) == ev
        if pat == 0:
            assert (r["coapcast.pm.q"], r["coapcast.pm.s"], r["coapcast.pm.c"]) == (str(q), str(s), "")
        else:
            assert (r["coapcast.pm.q"], r["coapcast.pm.c"]) == ("", str(c))
    # Event bits: decoded as pm.event_decode reads them (the one definition)
    for r, (_, _, _, _, _, v) in zip(rows, want):
        lv = pm.event_decode(v)
        if lv is None:
            assert r["coapcast.pm.event.valid"] == "0" and r["coapcast.pm.event.loss_level"] == ""
        else:
            assert r["coapcast.pm.event.valid"] == "1"
            assert (int(r["coapcast.pm.event.loss_level"]), int(r["coapcast.pm.event.delay_level"])) == lv


def test_ltmr_ticket_request_and_option_preferences(tmp_path):
    path = str(tmp_path / "ltmr.pcap")
    ticket = msg.encode(msg.CON, msg.GET, 7, b"\x4a", [(o.OBSERVE, 0), (o.PROXY_SCHEME, "coap"),
                                                       (o.LTMR, TP_INFO)])
    pcap.write(path, [(ticket, C1, ("192.0.2.20", 5683))])
    rows = fields(path, ["coapcast.ltmr", "coapcast.tp_info.token", "coapcast.tp_info.cli_addr",
                         "coapcast.tp_info.srv_port"])
    assert rows[0]["coapcast.ltmr"] == TP_INFO.hex()
    assert (rows[0]["coapcast.tp_info.token"], rows[0]["coapcast.tp_info.cli_addr"]) == ("7b", "233.252.0.23")
    # another LTMR number in the preferences: 65003 is then not ours
    rows = fields(path, ["coapcast.ltmr"], "-o", "coapcast.ltmr_option:65100")
    assert rows[0]["coapcast.ltmr"] == ""


@pytest.mark.parametrize("payload,why", [
    (b"\xa3\x01", "not CBOR"),
    (b"\x83\x01\x02\x03", "not a CBOR map"),
    (h("a2 01 44 01605172 02 4b 45610a613cff6431323334"), "tp_info (key 3) missing"),
    (h("a3 01 44 01605172 02 4b 45610a613cff6431323334 03 83 01 41 7b 00"), "tp_info is not an array"),
])
def test_malformed_informative_response_is_flagged_not_fatal(tmp_path, payload, why):
    path = str(tmp_path / "bad.pcap")
    ir = msg.encode(msg.CON, msg.SERVICE_UNAVAILABLE, 2, b"\x4a", [(o.CONTENT_FORMAT, o.CF_INFORMATIVE)], payload)
    good = msg.encode(msg.NON, msg.CONTENT, 3, b"\x7b", [(o.OBSERVE, 11), (o.MRFD, 2)])
    pcap.write(path, [(ir, SRV, C1), (good, SRV, GRP)])
    rows = fields(path, ["coapcast.malformed", "coapcast.mrfd", "_ws.expert.message"])
    assert why in rows[0]["coapcast.malformed"], rows
    assert rows[1]["coapcast.mrfd"] == "2" and rows[1]["coapcast.malformed"] == ""


def _free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_live_capture_of_the_server_pm_flow(tmp_path):
    port, gport = _free_udp_port(), _free_udp_port()
    pcap_path = str(tmp_path / "live.pcap")
    cap = subprocess.Popen([TSHARK, "-i", "lo", "-w", pcap_path, "-f", "udp port %d or udp port %d" % (port, gport)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    srv = None
    try:
        end = time.monotonic() + 20
        while time.monotonic() < end:   # wait for "Capturing on 'Loopback: lo'"
            if not select.select([cap.stderr], [], [], max(end - time.monotonic(), 0))[0]:
                break
            line = cap.stderr.readline()
            if "Capturing on" in line or not line:
                break
        srv = subprocess.Popen([sys.executable, "-m", "tools.server", "--bind", "127.0.0.1", "--port", str(port),
                                "--group", "224.0.1.187", "--group-port", str(gport), "--mc-if", "127.0.0.1",
                                "--pm", "0", "--update", "/r=0.2", "--interval", "0.2", "--duration", "3"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)
        c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        c.bind(("127.0.0.1", 0))
        c.settimeout(3)
        c.sendto(msg.encode(msg.NON, msg.GET, 1, b"\x01", [(o.OBSERVE, 0), (o.URI_PATH, "r"),
                                                            (o.PM, pm.encode(0, q=0, s=0))]), ("127.0.0.1", port))
        c.recvfrom(2048)
        c.close()
        time.sleep(1.5)
    finally:
        if srv is not None:
            srv.wait(timeout=15)
        time.sleep(0.5)
        cap.send_signal(signal.SIGINT)
        cap.communicate(timeout=10)
    rows = fields(pcap_path, ["udp.srcport", "udp.dstport", "coap.code", "coapcast.pm.pattern", "coapcast.pm.q",
                              "coapcast.tp_info.cli_port", "coapcast.malformed"],
                  "-d", "udp.port==%d,coap" % port, "-d", "udp.port==%d,coap" % gport)
    ir = [r for r in rows if r["coap.code"].startswith("163")]
    assert ir and ir[0]["coapcast.tp_info.cli_port"] == str(gport), rows
    assert ir[0]["coapcast.pm.pattern"] == "0" and ir[0]["coapcast.malformed"] == ""
    mc = [r for r in rows if r["udp.dstport"] == str(gport)]
    assert len(mc) >= 3, rows                      # the multicast notifications, each PM-marked
    assert all(r["coapcast.pm.pattern"] == "0" and r["coapcast.pm.q"] in ("0", "1") for r in mc), mc
    assert all(r["coapcast.malformed"] == "" for r in rows), rows
