# Runs the test_* functions of one firmware test module under MicroPython and prints one
# machine-readable line per test (read by conftest.py). Usage: micropython mprun.py MODULE
import sys
import gc

name = sys.argv[1]
try:
    mod = __import__(name)
except Exception as e:
    print("@@IMPORTERROR")
    sys.print_exception(e, sys.stdout)
    print("@@END")
    raise SystemExit(0)

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
