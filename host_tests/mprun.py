# Runs the test_* functions of one firmware test module under MicroPython and prints one
# machine-readable line per test (read by conftest.py).
# Usage: micropython mprun.py MODULE; where there is no sys.argv (the Cortex-M0 under QEMU, with this
# file frozen): import mprun; mprun.run(MODULE)
import sys
import gc


def run(name):
    try:
        mod = __import__(name)
    except Exception as e:
        print("@@IMPORTERROR")
        sys.print_exception(e, sys.stdout)
        print("@@END")
        return
    tests = sorted(k for k in dir(mod) if k.startswith("test_") and callable(getattr(mod, k)))
    for t in tests:
        gc.collect()
        print("@@BEGIN", t)
        try:
            getattr(mod, t)()
            print("@@PASS", t)
        except Exception as e:
            if type(e).__name__ == "SkipTest":
                print("@@SKIP", t, e.args[0] if e.args else "")
            else:
                sys.print_exception(e, sys.stdout)
                print("@@FAIL", t)
    print("@@END")


if __name__ == "__main__":
    run(sys.argv[1])
