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


def codec():
    mp = run_mp("mp_codec.py")
    cp = run_cpy("mp_codec.py")
    print("== codec: full decode of the 14-byte §4 notification (header, token, Observe, CF, payload)")
    print("  %-44s %10s   target" % ("", "figure"))
    print("  %-44s %10s   <= 3 us" % ("unix port, 192k heap: us/decode", mp.get("decode_us", "?")))
    print("  %-44s %10s   <= 96 B" % ("unix port: heap bytes allocated/decode", mp.get("decode_alloc_bytes", "?")))
    print("  %-44s %10s" % ("CPython: us/decode", cp.get("decode_us", "?")))


BENCHES = [codec]


def main():
    only = sys.argv[1:]
    for b in BENCHES:
        if not only or b.__name__ in only:
            b()
            print()


if __name__ == "__main__":
    main()
