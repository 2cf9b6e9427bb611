"""make bench: runs every benchmark and prints its figures (targets are printed beside them).

Benchmarks are figures, not tests: nothing here fails the build.
"""
import importlib
import os
import subprocess
import sys

from tools.util import ROOT, FIRMWARE, micropython_bin, micropython_env  # noqa: F401

HERE = os.path.dirname(os.path.abspath(__file__))
MICROPYTHON = micropython_bin()


def kv(text):
    out = {}
    for line in text.splitlines():
        if "=" in line and " " not in line.split("=")[0]:
            k, v = line.split("=", 1)
            out[k] = v
    return out


def run_mp(script, heap="192k", path=()):
    p = subprocess.run([MICROPYTHON, "-X", "heapsize=" + heap, os.path.join(HERE, script)],
                       capture_output=True, text=True, env=micropython_env(path), cwd=ROOT)
    if p.returncode:
        print(p.stdout, p.stderr)
    return kv(p.stdout)


def run_cpy(script):
    p = subprocess.run([sys.executable, os.path.join(HERE, script)], capture_output=True, text=True, cwd=ROOT)
    if p.returncode:
        print(p.stdout, p.stderr)
    return kv(p.stdout)


def figure_table(rows, width=52):
    """Print figures under a "figure  target" heading, one line per (label, value, target)."""
    print("  %-*s %10s   target" % (width, "", "figure"))
    for label, value, target in rows:
        print(("  %-*s %10s   %s" % (width, label, value, target)).rstrip())


def discover():
    """Every tools/bench/bench_*.py with a run() function, in name order."""
    mods = []
    for f in sorted(os.listdir(HERE)):
        if f.startswith("bench_") and f.endswith(".py"):
            mods.append(importlib.import_module("tools.bench." + f[:-3]))
    return mods


def main():
    only = sys.argv[1:]
    for m in discover():
        name = m.__name__.rsplit(".", 1)[1][len("bench_"):]
        if not only or name in only:
            m.run()
            print()


if __name__ == "__main__":
    main()
