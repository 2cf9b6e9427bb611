# python -m tools.oscore_keys: a generated group works end to end. The server's key file gives a
# GroupSender and the per-client OSCORE contexts; each client's JSON file and its config.py-ready module
# give the board contexts; what the server protects (phantom request, notification, OSCORE response)
# the board's code verifies -- under CPython and under the MicroPython unix port from the generated
# module with the real coap.sigverify; and a client's OSCORE request verifies at the server.
import json
import os
import stat
import subprocess

import pytest

from helpers import micropython_bin, micropython_env
from tools import runtimes
from coap import msg, oscore, grouposcore, cose
from coap.msgcore import Msg
from tools import oscore_keys
from tools.oscore_group import crypto_verifier

PHANTOM = msg.encode(msg.NON, msg.GET, 0, b"\x7b", [(6, 0), (11, "r")])
NOTIF = msg.encode(msg.NON, msg.CONTENT, 7, b"\x7b", [(6, 11), (12, 60)], b"\x645678")
REG = msg.encode(msg.CON, msg.GET, 0x1234, b"\x4a", [(6, 0), (11, "r")])


@pytest.fixture(scope="module", params=["ed25519", "es256"])
def keydir(request, tmp_path_factory):
    d = tmp_path_factory.mktemp("keys-" + request.param)
    assert oscore_keys.main(["--out", str(d), "--n", "2", "--alg", request.param, "--gid", "57ab2e"]) == 0
    return d


def test_files_and_identifiers(keydir):
    names = sorted(os.listdir(keydir))
    assert names == ["c1.json", "c1_config.py", "c2.json", "c2_config.py", "server.json"]
    for n in names:
        assert stat.S_IMODE(os.stat(keydir / n).st_mode) == 0o600
    srv = oscore_keys.load(keydir / "server.json")
    g = srv["group"]
    # draft -04 §7's numbering: C_1 kid 1 / S kid 3, C_2 kid 2 / S kid 4, group S kid 5
    assert g["sender_id"] == b"\x05" and g["gid"] == bytes.fromhex("57ab2e")
    assert sorted((p["peer"], p["sender_id"], p["recipient_id"]) for p in srv["oscore"]) == [
        ("c1", b"\x03", b"\x01"), ("c2", b"\x04", b"\x02")]
    c1 = oscore_keys.load(keydir / "c1.json")
    assert c1["group"]["sender_id"] == b"\x01" and c1["oscore"][0]["sender_id"] == b"\x01"
    assert c1["group"]["master_secret"] == g["master_secret"] and c1["group"]["private_key"] != g["private_key"]
    assert json.loads((keydir / "c1.json").read_text())["format"] == "coapcast-oscore/1"
    f = oscore_keys.info_fields(srv)
    assert f["sec_gp"] == "myGroup" and f["join_uri"].endswith("/myGroup") and f["cs_alg"] == g["alg_signature"]
    mod = (keydir / "c1_config.py").read_text()
    assert "private_key" not in mod and g["private_key"].hex() not in mod


def test_server_protects_board_verifies_cpython(keydir):
    srv = oscore_keys.load(keydir / "server.json")
    sender = oscore_keys.group_sender(srv, seq=501)
    ph, b = sender.protect_request(PHANTOM)
    n = sender.protect_response(NOTIF, b)
    for name in ("c1", "c2"):
        kf = oscore_keys.load(keydir / (name + ".json"))
        board = grouposcore.GroupContext(verifier=crypto_verifier, **oscore_keys.group_kwargs(kf))
        plain, bb = board.unprotect_request(Msg().decode(ph), replay=False)
        assert plain == PHANTOM and board.unprotect_response(Msg().decode(n), bb) == NOTIF
        # the pairwise context: a client's registration verifies at the server, and the response back
        cli = oscore_keys.oscore_contexts(kf)["server"]
        req, cb = cli.protect_request(REG)
        sctx = oscore_keys.oscore_contexts(srv)[name]
        p, sb = sctx.unprotect_request(Msg().decode(req))
        assert p == REG
        assert cli.unprotect_response(Msg().decode(sctx.protect_response(NOTIF, sb)), cb) == NOTIF


MP_SCRIPT = """
import gc
import c1_config as K
from coap import oscore, grouposcore
from coap.msgcore import Msg
g = grouposcore.GroupContext(**K.GROUP_OSCORE)
c = oscore.Context(**K.OSCORE)
gc.collect()
r = g.unprotect_request(Msg().decode(%(ph)r), replay=False)
assert r is not None and r[0] == %(phantom)r, g.stats.last
assert g.unprotect_response(Msg().decode(%(n)r), r[1]) == %(notif)r, g.stats.last
bad = bytearray(%(n2)r); bad[-3] ^= 4  # a flipped signature bit on the next notification
assert g.unprotect_response(Msg().decode(bytes(bad)), r[1]) is None
assert c.unprotect_response(Msg().decode(%(resp)r), oscore.Binding(K.OSCORE['sender_id'], b'\\x00')) == %(notif)r
print("OK", g.stats.replay, g.stats.signature, g.stats.total())
"""


def test_board_module_under_micropython(keydir):
    srv = oscore_keys.load(keydir / "server.json")
    sender = oscore_keys.group_sender(srv, seq=10)
    ph, b = sender.protect_request(PHANTOM)
    n = sender.protect_response(NOTIF, b)
    n2 = sender.protect_response(NOTIF, b)
    sctx = oscore_keys.oscore_contexts(srv)["c1"]
    resp = sctx.protect_response(NOTIF, oscore.Binding(b"\x01", b"\x00"), fresh=True)
    script = keydir / "mp_check.py"
    script.write_text(MP_SCRIPT % {"dir": str(keydir), "ph": ph, "n": n, "n2": n2, "phantom": PHANTOM, "notif": NOTIF,
                                   "resp": resp})
    # a board's word size where the 32-bit port is built, else the 64-bit one with twice the heap
    # (objects twice the size; the same convention as the dual-runtime harness)
    binary, heap = (runtimes.unix32_bin(), "192k") if runtimes.unix32_bin() else (micropython_bin(), "384k")
    p = subprocess.run([binary, "-X", "heapsize=" + heap, str(script)], capture_output=True, text=True,
                       timeout=600, env=micropython_env([str(keydir)]))   # c1_config.py from keydir
    assert p.returncode == 0 and p.stdout.split() == ["OK", "0", "1", "1"], p.stdout + p.stderr


def test_cli_errors_are_one_line(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "coapcast-oscore/1", "group": {"gid": "zz"}}')
    for args in (["--check", str(bad)], ["--check", str(tmp_path / "missing.json")],
                 ["--out", str(tmp_path / "k"), "--clients", "a,a"]):
        p = subprocess.run([os.sys.executable, "-m", "tools.oscore_keys"] + args, capture_output=True, text=True)
        assert p.returncode == 2 and p.stderr.count("\n") == 1 and "Traceback" not in p.stderr, p.stderr
