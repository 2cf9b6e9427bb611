# Dual-runtime harness: every test in host_tests/fw/ runs under CPython (as a normal pytest
# test, shown as [cpython]) and under the MicroPython unix port with a Pico W heap (shown as
# [micropython]). The module runs once per file in micropython; each test reports its own result.
# Shared test helpers live in helpers.py; coap, coapcast and tools come from the editable install.
import os

import pytest

from helpers import HERE, FW, HEAP, ROOT, run_micropython


_results = {}


def _mp_results(modname):
    if modname not in _results:
        p = run_micropython(os.path.join(HERE, "mprun.py"), [modname], path=[FW, ROOT])  # ROOT: tools.util, tools.fuzz
        out = p.stdout + p.stderr
        res = {}
        cur, buf = None, []
        for line in out.splitlines():
            if line.startswith("@@BEGIN "):
                cur, buf = line.split()[1], []
            elif line.startswith("@@PASS "):
                res[line.split()[1]] = ("pass", "")
            elif line.startswith("@@SKIP "):
                res[line.split()[1]] = ("skip", line[7:])
            elif line.startswith("@@FAIL "):
                res[line.split()[1]] = ("fail", "\n".join(buf))
            elif line.startswith("@@IMPORTERROR"):
                cur = "@@import"
            else:
                buf.append(line)
        if "@@END" not in out:
            res["@@crash"] = ("fail", "micropython exited %s before the end:\n%s" % (p.returncode, out[-4000:]))
        if cur == "@@import":
            res["@@crash"] = ("fail", "import failed under micropython:\n" + "\n".join(buf))
        _results[modname] = res
    return _results[modname]


class MicroPythonFailure(Exception):
    pass


class MicroPythonItem(pytest.Item):
    def __init__(self, *, modname, testname, **kw):
        super().__init__(**kw)
        self.modname = modname
        self.testname = testname

    def runtest(self):
        res = _mp_results(self.modname)
        r = res.get(self.testname) or res.get("@@crash") or ("fail", "no result from micropython")
        if r[0] == "skip":
            pytest.skip(r[1])
        if r[0] == "fail":
            raise MicroPythonFailure(r[1])

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, MicroPythonFailure):
            return "MicroPython (-X heapsize=%s) traceback:\n%s" % (HEAP, excinfo.value.args[0])
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, "%s[micropython]" % self.testname


def pytest_collection_modifyitems(session, config, items):
    out = []
    for it in items:
        out.append(it)
        if isinstance(it, pytest.Function) and os.path.dirname(str(it.path)) == FW:
            modname = os.path.splitext(os.path.basename(str(it.path)))[0]
            it._nodeid = it.nodeid + "[cpython]"
            it.name = it.name + "[cpython]"
            mp = MicroPythonItem.from_parent(it.parent, name=it.originalname + "[micropython]",
                                             modname=modname, testname=it.originalname)
            out.append(mp)
    items[:] = out
