# Issue 6: a short demo (2 virtual boards, ~10 s) where every board receives every notification the
# server sent; deploy through mpremote to a virtual board; `make mpy` output is what deploy copies.
import filecmp
import os
import subprocess
import sys
import time

from helpers import ROOT


def _ours(tag):
    """pids of processes whose command line mentions tag."""
    out = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    if tag.encode() in f.read():
                        out.append(int(pid))
            except OSError:
                pass
    return out


def test_short_demo_every_board_gets_every_notification(tmp_path):
    work = str(tmp_path / "demo")
    p = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "demo.py"), "--boards", "2", "--duration", "10",
                        "--interval", "1", "--workdir", work], capture_output=True, text=True, timeout=180, cwd=ROOT)
    out = p.stdout + p.stderr
    assert p.returncode == 0, out[-6000:]
    assert "every board received every notification" in out
    rows = [ln.split() for ln in out.splitlines() if ln.startswith("board") and len(ln.split()) >= 6 and ln.split()[1].isdigit()]
    assert len(rows) == 2, out[-3000:]
    for r in rows:
        assert int(r[3]) >= 5 and r[4] == "0" and r[5] == "0", r   # received >= 5, none missing, none extra
    sent = [ln for ln in out.splitlines() if "| notify /r T=" in ln]
    assert len(sent) >= 5
    assert "Traceback" not in out
    time.sleep(0.5)
    assert _ours(work) == [], "the demo left processes behind"


def test_deploy_to_virtual_board_runs_main_and_copies_make_mpy_output(tmp_path):
    flash = str(tmp_path / "flash")
    vb = subprocess.Popen([sys.executable, "-m", "tools.vboard", "--flash", flash], cwd=ROOT,
                          stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        dev = vb.stdout.readline().split()[1]
        cfg = tmp_path / "config.py"
        cfg.write_text("OBSERVE = []\nJOIN_IFACE = '127.0.0.1'\nSTATUS_S = 1\n")
        d = subprocess.run(["make", "-s", "--no-print-directory", "deploy", "BOARD=unix", "PORT=" + dev,
                            "CONFIG=" + str(cfg), "START=0"], cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert d.returncode == 0, d.stdout + d.stderr
        # what make mpy builds is what deploy copied, byte for byte
        built = os.path.join(ROOT, "build", "mpy", "unix")
        for dirpath, _, files in os.walk(built):
            for f in files:
                rel = os.path.relpath(os.path.join(dirpath, f), built)
                assert filecmp.cmp(os.path.join(built, rel), os.path.join(flash, rel), shallow=False), rel
        assert os.path.exists(os.path.join(flash, "board.py")) and os.path.exists(os.path.join(flash, "config.py"))
        # start main.py through mpremote, as on a real board; it prints its boot lines and status
        mp = os.path.join(os.path.dirname(sys.executable), "mpremote")
        r = subprocess.Popen([mp, "connect", dev, "resume", "exec", "import main"], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, start_new_session=True)
        lines = []
        t = time.time()
        while time.time() - t < 20:
            ln = r.stdout.readline()
            if not ln:
                break
            lines.append(ln)
            if ln.startswith("status"):
                break
        r.kill()
        text = "".join(lines)
        assert "net: unix port, interface 127.0.0.1" in text and "status" in text, text
    finally:
        vb.terminate()
        vb.wait(5)
