# make deploy without a config of one's own refuses with one line saying how to make one (it used to
# install the template silently: a board observing 192.168.1.10 and failing to send forever); TEMPLATE=1
# is the explicit way to install the template; a CONFIG that does not exist is one line too.
import os
import shutil

import pytest

from helpers import ROOT, run_make
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make missing")


def make_deploy(*args):
    return run_make("deploy", *args)


@pytest.mark.parametrize("board", ["esp32", "rp2040", "unix"])
def test_deploy_without_config_refuses_with_how_to_make_one(board):
    own = os.path.join(ROOT, "boards", board, "config.py")
    if os.path.exists(own):
        pytest.skip("%s exists on this machine" % own)
    code, lines = make_deploy("BOARD=" + board, "PORT=/dev/null")
    assert code != 0 and len(lines) == 1, lines
    ln = lines[0]
    assert "boards/%s/config.py" % board in ln and "cp boards/common/config_template.py" in ln, ln
    assert "CONFIG=" in ln and "TEMPLATE=1" in ln and "Traceback" not in ln


def test_deploy_config_that_does_not_exist_is_one_line():
    code, lines = make_deploy("BOARD=unix", "PORT=/dev/null", "CONFIG=/nonexistent/config.py")
    assert code != 0 and lines == ["deploy: CONFIG=/nonexistent/config.py: no such file"], lines


def test_config_file_choice():
    from tools import deploy
    tpl = os.path.join(ROOT, "boards", "common", "config_template.py")
    assert deploy.config_file("esp32", tpl) == tpl
    if not os.path.exists(os.path.join(ROOT, "boards", "esp32", "config.py")):
        assert deploy.config_file("esp32", None, template=True) == tpl
        with pytest.raises(ValueError):
            deploy.config_file("esp32")


def test_deploy_unknown_board_is_one_line():
    code, lines = make_deploy("BOARD=foo", "PORT=/dev/null")
    assert code != 0 and len(lines) == 1 and "--board" in lines[0] and "'foo'" in lines[0] and "esp32" in lines[0], lines
