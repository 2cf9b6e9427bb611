"""`make soak` (python -m tools.soak): the fuzzers (n inputs per target), then the issue-7 tests
(faults, memory, load, spoofing, corpus replay; COAPCAST_SOAK=1: their long variants) with the
figures they record, and a summary."""
import json
import os
import shutil
import subprocess

from tools.util import ROOT, python_bin


def _junit(path):
    """{test file stem: [passed, total]} from a pytest JUnit XML report."""
    import xml.etree.ElementTree as ET
    out = {}
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return out
    for tc in root.iter("testcase"):
        stem = tc.get("classname", "").split(".")[-1]
        if any(ch.tag in ("skipped",) for ch in tc):
            continue
        ok = not any(ch.tag in ("failure", "error") for ch in tc)
        rec = out.setdefault(stem, [0, 0])
        rec[0] += ok
        rec[1] += 1
    return out


def campaign(quick=False, n=None):
    """make soak: the fuzzers (n inputs per target), then the issue-7 tests with figures."""
    import tempfile
    n = n or (20000 if quick else 100000)
    print("== fuzzing: %d inputs per target (python -m tools.fuzz)" % n, flush=True)
    from tools.fuzz.__main__ import fuzz, quiet_server_log
    quiet_server_log()
    from tools.fuzz import targets
    res = fuzz(targets.NAMES, n, crash_dir=os.path.join(ROOT, "build", "fuzz", "crashes"))
    crashes = sum(r["crashes"] for r in res)
    tmp = tempfile.mkdtemp(prefix="coapcast-soak-")
    figs = os.path.join(tmp, "figures.jsonl")
    junit = os.path.join(tmp, "junit.xml")
    env = dict(os.environ, COAPCAST_FIGURES=figs, COAPCAST_SOAK="0" if quick else "1")
    tests = ["host_tests/test_faults.py", "host_tests/test_memory.py", "host_tests/test_load.py",
             "host_tests/fw/test_spoofing.py", "host_tests/test_spoofing_udp.py", "host_tests/fw/test_fuzz_replay.py",
             "host_tests/fw/test_reregister.py", "host_tests/test_oscore_attacks_udp.py"]
    tests = [t for t in tests if os.path.exists(os.path.join(ROOT, t))]
    print("== faults, memory, load, spoofing (%s)" % ("quick" if quick else "long variants"), flush=True)
    r = subprocess.run([python_bin(), "-m", "pytest", "-q", "-p", "no:cacheprovider", "--junitxml", junit] + tests,
                       cwd=ROOT, env=env, capture_output=True, text=True)
    tail = [ln for ln in r.stdout.splitlines() if ln.strip()][-1:] or ["?"]
    rows = []
    if os.path.exists(figs):
        with open(figs) as f:
            rows = [json.loads(ln) for ln in f if ln.strip()]
    res_by = _junit(junit)
    shutil.rmtree(tmp, ignore_errors=True)
    print()
    print("== coapcast soak figures")
    for x in res:
        print("fuzz   %-9s %7d inputs  %6d accepted  %d crashes (%d unique)  %.1f s" % (
            x["target"], x["inputs"], x["valid"], x["crashes"], len(x["unique"]), x["seconds"]))
    for row in rows:
        name = row.pop("name")
        print("%-40s %s" % (name, "  ".join("%s=%s" % kv for kv in sorted(row.items()))))
    print()

    def pt(*stems):
        p = sum(res_by.get(st, [0, 0])[0] for st in stems)
        t = sum(res_by.get(st, [0, 0])[1] for st in stems)
        return "%d/%d" % (p, t)
    mem = [x for x in rows if "drift_bytes" in x]
    print("summary: fuzzed %d inputs over %d targets, %d crashes" % (sum(x["inputs"] for x in res), len(res), crashes))
    print("summary: faults survived %s (loss, restart, kill -9, duplicates/reordering, link drops)"
          % pt("test_faults"))
    print("summary: heap drift %s bytes (limit 1024)" % ", ".join(str(x["drift_bytes"]) for x in mem))
    print("summary: load held %s, spoofing dropped %s, corpus replay %s"
          % (pt("test_load"), pt("test_spoofing", "test_spoofing_udp"), pt("test_fuzz_replay")))
    sec = [x for x in rows if x.get("forged_delivered") is not None]
    print("summary: protected group observations (draft §6-7) under attack %s: %s"
          % (pt("test_oscore_attacks_udp"), ", ".join("%d sent, %d rejected, %d delivered forged"
                                                      % (x["sent"], x["rejected"], x["forged_delivered"]) for x in sec)
             or "not run"))
    print("tests  %s" % tail[0])
    ok = crashes == 0 and r.returncode == 0
    if r.returncode:
        print(r.stdout[-6000:])
    print("soak: %s" % ("PASS" if ok else "FAIL"))
    return 0 if ok else 1
