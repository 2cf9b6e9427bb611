# The board's OSCORE configuration (firmware/app.py oscore(), coap.groupsec.from_config): the keys module
# python -m tools.oscore_keys writes is usable as it is; without OSCORE nothing changes; unusable keys are
# said once in one line and the board then observes nothing (it never falls back to unprotected).
import os
import sys
import types

from coap import groupsec
from tools import oscore_keys
from helpers import ROOT


def _cfg(**kw):
    return types.SimpleNamespace(**kw)


def _board_keys(tmp_path):
    assert oscore_keys.main(["--out", str(tmp_path), "--n", "1"]) == 0
    ns = {}
    exec(open(os.path.join(str(tmp_path), "c1_config.py")).read(), ns)
    return ns["OSCORE"], ns["GROUP_OSCORE"]


def _app_oscore(cfg):
    lines = []
    ns = {"__name__": "app"}
    sys.modules["board"] = types.SimpleNamespace()
    sys.modules["config"] = cfg
    try:
        exec(open(os.path.join(ROOT, "firmware", "app.py")).read(), ns)
    finally:
        sys.modules.pop("board", None)
        sys.modules.pop("config", None)
    return ns["oscore"](cfg, lines.append), lines


def test_keys_module_as_written(tmp_path):
    osc, grp = _board_keys(tmp_path)
    seq = str(tmp_path / "oscore.seq")
    s = groupsec.from_config({"OSCORE": osc, "GROUP_OSCORE": grp, "OSCORE_SEQ_FILE": seq})
    assert s.name == "myGroup" and s.steps == 8 and list(s.group.recipients) == [b"\x03"]
    assert s.ctx.sender_id == b"\x01" and os.path.exists(seq)     # the sequence number is written ahead
    from coap import options
    assert options.PM in s.ctx.outer and options.LTMR in s.ctx.outer    # PM outer by default
    s2 = groupsec.from_config(_cfg(OSCORE=osc, GROUP_OSCORE=grp, PM_OSCORE="inner", OSCORE_SEQ_FILE=None))
    assert options.PM not in s2.ctx.outer and not s2.pm_both


def test_app_without_and_with_bad_oscore(tmp_path):
    assert _app_oscore(_cfg()) == (None, [])
    osc, grp = _board_keys(tmp_path)
    for cfg, word in ((_cfg(OSCORE=osc), "GROUP_OSCORE"), (_cfg(OSCORE=osc, GROUP_OSCORE=grp, PM_OSCORE="out"), "PM"),
                      (_cfg(OSCORE=dict(osc, recipient_id=osc["sender_id"]), GROUP_OSCORE=grp), "differ"),
                      (_cfg(OSCORE=dict(osc, bogus=1), GROUP_OSCORE=grp), "bogus")):
        got, lines = _app_oscore(cfg)
        assert got is False and len(lines) == 1 and word in lines[0] and "observing nothing" in lines[0], lines
        assert "Traceback" not in lines[0]
    got, lines = _app_oscore(_cfg(OSCORE=osc, GROUP_OSCORE=grp, OSCORE_SEQ_FILE=None))
    assert isinstance(got, groupsec.GroupSec) and lines == []
