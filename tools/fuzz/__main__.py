"""python -m tools.fuzz [--n 100000] [--target NAME ...] [--seed 1] [--budget S] [--json FILE]

Runs the mutation fuzzer on each target (default: all of msg cbor inforesp client server pm), the
seed corpus first. Prints one line per target; unique crashes are saved to --crash-dir
(build/fuzz/crashes: <target>-<k>.bin and the traceback in .txt) for a regression test.
Exit status 1 when anything crashed.
"""
import argparse
import json
import os
import sys

from tools.fuzz import engine, corpus, targets


def quiet_server_log():
    """The server and proxy targets log every bad input: keep their errors only (CLI and soak runs)."""
    import logging
    for name in ("coapcast.server", "coapcast.proxy"):
        lg = logging.getLogger(name)
        lg.propagate = False
        lg.setLevel(logging.ERROR)


def fuzz(names, n, seed=1, budget_s=None, crash_dir=None, log=print):
    res = []
    for name in names:
        r = engine.run(name, targets.target(name), targets.ALLOWED[name], corpus.corpus(name), n, seed=seed,
                       crash_dir=crash_dir, budget_s=budget_s)
        res.append(r)
        if log:
            log("fuzz %-8s %7d inputs (%d accepted) %4d crashes (%d unique) %6.1f s" % (
                name, r["inputs"], r["valid"], r["crashes"], len(r["unique"]), r["seconds"]))
            for sig, h in r["unique"].items():
                log("   crash %s\n     input %s" % (sig, h[:160]))
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tools.fuzz", description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100000, help="inputs per target (100000)")
    ap.add_argument("--target", action="append", choices=targets.NAMES, help="repeatable; default: all")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--budget", type=float, default=None, help="stop a target after S seconds")
    ap.add_argument("--crash-dir", default=os.path.join("build", "fuzz", "crashes"))
    ap.add_argument("--json", help="write the results here")
    a = ap.parse_args(argv)
    quiet_server_log()
    res = fuzz(a.target or targets.NAMES, a.n, a.seed, a.budget, a.crash_dir)
    if a.json:
        with open(a.json, "w") as f:
            json.dump([{k: v for k, v in r.items() if k != "first"} for r in res], f, indent=1)
    return 1 if any(r["crashes"] for r in res) else 0


if __name__ == "__main__":
    sys.exit(main())
