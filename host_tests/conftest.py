# Dual-runtime harness: every test in host_tests/fw/ runs under CPython (as a normal pytest
# test, shown as [cpython]) and under MicroPython: the unix port built 32-bit with a Pico W heap
# ([micropython]), the 64-bit one ([mp64]) and a Cortex-M0 under QEMU ([m0]); see runtimes.py.
# The module runs once per file in each; each test reports its own result.
# Shared test helpers live in helpers.py; coap, coapcast and tools come from the editable install.
import os

import pytest

import runtimes
from helpers import FW


def pytest_collection_modifyitems(session, config, items):
    out = []
    for it in items:
        out.append(it)
        if isinstance(it, pytest.Function) and os.path.dirname(str(it.path)) == FW:
            it._nodeid = it.nodeid + "[cpython]"
            it.name = it.name + "[cpython]"
            out.extend(runtimes.items_for(it))
    items[:] = out
