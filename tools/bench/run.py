"""make bench: runs every benchmark and prints its figures (targets are printed beside them).

Benchmarks are figures, not tests: nothing here fails the build.
"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FIRMWARE = os.path.join(ROOT, "firmware")
MICROPYTHON = os.path.join(os.path.dirname(sys.executable), "micropython")


def kv(text):
    out = {}
    for line in text.splitlines():
        if "=" in line and " " not in line.split("=")[0]:
            k, v = line.split("=", 1)
            out[k] = v
    return out


def run_mp(script, heap="192k", path=()):
    env = dict(os.environ, MICROPYPATH=":".join([".frozen", FIRMWARE] + list(path)))
    p = subprocess.run([MICROPYTHON, "-X", "heapsize=" + heap, os.path.join(HERE, script)],
                       capture_output=True, text=True, env=env, cwd=ROOT)
    if p.returncode:
        print(p.stdout, p.stderr)
    return kv(p.stdout)


def run_cpy(script):
    env = dict(os.environ, PYTHONPATH=FIRMWARE + os.pathsep + ROOT)
    p = subprocess.run([sys.executable, os.path.join(HERE, script)], capture_output=True, text=True, env=env, cwd=ROOT)
    if p.returncode:
        print(p.stdout, p.stderr)
    return kv(p.stdout)


def discover():
    """Every tools/bench/bench_*.py with a run() function, in name order."""
    import importlib
    sys.path.insert(0, HERE)
    for p in (FIRMWARE, ROOT):
        if p not in sys.path:
            sys.path.insert(0, p)
    mods = []
    for f in sorted(os.listdir(HERE)):
        if f.startswith("bench_") and f.endswith(".py"):
            mods.append(importlib.import_module(f[:-3]))
    return mods


def main():
    only = sys.argv[1:]
    for m in discover():
        name = m.__name__[len("bench_"):]
        if not only or name in only:
            m.run()
            print()


if __name__ == "__main__":
    main()
