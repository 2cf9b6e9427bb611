# Issue 6: a short demo (2 virtual boards, ~10 s) where every board receives every notification the
# server sent; deploy through mpremote to a virtual board; `make mpy` output is what deploy copies.
# Issue 16: the demo with injected loss: PM figures against the truth, and the report picture.
import filecmp
import os
import re
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


def test_demo_with_injected_loss_pm_figures_match_the_truth_and_draw_the_report(tmp_path):
    """make demo LOSS=10: the relay drops 10 % each way and adds 10 ms each way, nftables drops 10 %
    of the multicast notifications. Each board's multicast-loss figure equals the truth over the same
    blocks (the notifications the server sent that the board never printed), its RTT is the path's,
    the server shows no RTT made of idle spin periods, and build/demo/report.png is drawn."""
    from tools.soak.nft import have_nft
    work = str(tmp_path / "demo")
    p = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "demo.py"), "--boards", "2", "--duration", "24",
                        "--interval", "0.25", "--loss", "10", "--delay", "10", "--workdir", work],
                       capture_output=True, text=True, timeout=240, cwd=ROOT)
    out = p.stdout + p.stderr
    assert p.returncode == 0, out[-6000:]
    assert "Traceback" not in out
    assert "PM result: every figure matches the truth" in out, out[-4000:]
    pm = [ln for ln in out.splitlines() if " multicast " in ln and "PM loss" in ln]
    assert len(pm) == 2, out[-4000:]
    lossy = 0
    for ln in pm:
        m = re.search(r"PM loss \S+ \((\d+)/(\d+)\)\s+truth \S+ \((\d+)/(\d+) over", ln)
        assert m, ln
        lost, exp, tlost, texp = map(int, m.groups())
        assert exp >= 32 and texp == exp and abs(lost - tlost) <= 1, ln   # >= 2 closed blocks of 16
        lossy += tlost
    if have_nft():
        assert lossy >= 1, pm          # 10 % of >= 64 notifications: some were dropped
    uni = [ln for ln in out.splitlines() if " unicast " in ln and "PM loss" in ln]
    assert uni and all("MISMATCH" not in ln for ln in uni), uni
    rtt = re.search(r"path RTT through the relay: ([\d.]+) ms", out)
    assert rtt and 20.0 <= float(rtt.group(1)) < 60.0, out[-3000:]
    assert re.search(r"rtt \d+(\.\d+)?ms \(n=[1-9]", " ".join(uni)), uni   # the boards measured it
    srv = [ln for ln in out.splitlines() if ln.startswith("server    from ")]
    assert srv and all("MISMATCH" not in ln for ln in srv), srv
    rel = [ln for ln in out.splitlines() if ln.startswith("relay ")]
    assert len(rel) >= 4 and any("dropped 0 of" not in ln for ln in rel), rel
    png = os.path.join(work, "report.png")
    assert "report: " in out and os.path.exists(png)
    with open(png, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and int.from_bytes(head[16:20], "big") >= 800, head
    assert os.path.getsize(png) > 20000
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
