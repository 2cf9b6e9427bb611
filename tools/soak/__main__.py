"""python -m tools.soak [--quick] [--n N]: the soak campaign (make soak).
python -m tools.soak loadgen --port P [--rate 1000] [--duration 10] [--sockets 200]: the load alone."""
import argparse
import json
import sys

from tools.soak.campaign import campaign
from tools.soak.load import loadgen


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["loadgen"]:
        ap = argparse.ArgumentParser(prog="python -m tools.soak loadgen")
        ap.add_argument("--port", type=int, required=True)
        ap.add_argument("--rate", type=float, default=1000)
        ap.add_argument("--duration", type=float, default=10)
        ap.add_argument("--sockets", type=int, default=200)
        a = ap.parse_args(argv[1:])
        print(json.dumps(loadgen(a.port, a.rate, a.duration, a.sockets)))
        return 0
    ap = argparse.ArgumentParser(prog="python -m tools.soak", description="coapcast soak: fuzzing, faults, memory, "
                                 "load, spoofing; prints the figures")
    ap.add_argument("--quick", action="store_true", help="short variants (as CI)")
    ap.add_argument("--n", type=int, help="fuzz inputs per target (100000; --quick 20000)")
    a = ap.parse_args(argv)
    return campaign(a.quick, a.n)


if __name__ == "__main__":
    sys.exit(main() or 0)
