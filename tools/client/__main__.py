"""python -m tools.client: a desktop CoAP client on the board's own client (firmware/coapcast.py and
coap.client run unchanged under CPython), so a user can watch a group observation
(draft-tiloca-core-observe-multicast-notifications-04), a traditional observation (RFC 7641) and
the PM figures (draft-ietf-core-coap-pm) from a terminal, without a board.

  python -m tools.client observe coap://127.0.0.1/r --iface 127.0.0.1 [--count 5] [--duration 30]
  python -m tools.client get coap://127.0.0.1/time
  python -m tools.client put coap://127.0.0.1/r --payload 42
  python -m tools.client post coap://127.0.0.1/telemetry --payload up=1 --non
  ... [--pm 0|1] [--json] [--proxy HOST:PORT] [--mrfd N --ltmr N --pm-option N --cf-informative N]

Output: one line per event (notification, response, end, pm, stats); --json: one JSON object per
line with an "event" key. Exit status: 0 done, 1 no answer / the observation ended with an error,
2 bad arguments.
"""
import sys
import time

from tools import cli
from tools.client import events

_OPTION = cli.number(0, 0xFFFF, True, what="an option number 0..65535")


def build_parser():
    ap = cli.Parser(prog="python -m tools.client",
                                 description="coapcast desktop client: observe (group or traditional), "
                                             "get, put, post, delete")
    ap.add_argument("method", choices=("observe", "get", "put", "post", "delete"))
    ap.add_argument("uri", help="coap://HOST[:PORT]/PATH[?QUERY] (HOST: an address or a name)")
    ap.add_argument("--payload", default=None, help="request payload (text, sent as UTF-8)")
    ap.add_argument("--payload-hex", default=None, help="request payload as hex")
    ap.add_argument("--cf", type=cli.number(0, 0xFFFF, True, what="a Content-Format 0..65535"), default=None, help="Content-Format of the payload (0: text/plain)")
    ap.add_argument("--non", action="store_true", help="send the request as NON (default CON)")
    ap.add_argument("--count", type=cli.number(1, None, True), default=None,
                    help="observe: stop after N notifications")
    ap.add_argument("--duration", type=cli.number(0, None, above=True), default=None,
                    help="observe: stop after S seconds (default: until Ctrl-C or the observation ends)")
    ap.add_argument("--timeout", type=cli.number(0, None, above=True), default=30.0,
                    help="give up after S seconds without an answer (default 30; RFC 7252 retransmits in it)")
    ap.add_argument("--iface", default="0.0.0.0",
                    help="IPv4 address the group join goes out on (127.0.0.1 on loopback)")
    ap.add_argument("--ifindex", type=int, default=0, help="IPv6 interface index for group joins")
    ap.add_argument("--bind", default=None, help="local address to bind (default: any of the URI's family)")
    ap.add_argument("--proxy", type=cli.hostport(), default=None, help="HOST:PORT of a forward proxy (Proxy-Uri, draft §8)")
    ap.add_argument("--pm", type=int, choices=(0, 1), default=None,
                    help="mark requests with the PM option, pattern 0 (Q, S) or 1 (C), and measure")
    ap.add_argument("--pm-every", type=cli.number(0, None, above=True), default=10.0, help="print PM figures every S seconds (10)")
    ap.add_argument("--json", action="store_true", help="one JSON object per line")
    ap.add_argument("--mrfd", type=_OPTION, default=None, help="MRFD option number (65002)")
    ap.add_argument("--ltmr", type=_OPTION, default=None, help="LTMR option number (65003)")
    ap.add_argument("--pm-option", type=_OPTION, default=None, help="PM option number (65006)")
    ap.add_argument("--cf-informative", type=cli.number(0, 0xFFFF, True, what="a Content-Format 0..65535"), default=None,
                    help="Content-Format of the informative response (65000)")
    return ap


def main(argv=None):
    ap = build_parser()
    a = ap.parse_args(argv)
    try:
        req = events.Request.from_args(a)
    except ValueError as e:
        ap.fail(str(e))
    out = events.Printer(sys.stdout, as_json=a.json)
    try:
        code = req.run(out, time.monotonic)
    except KeyboardInterrupt:
        code = 0
    except OSError as e:
        out.error("network: %s" % (e.strerror or e,))
        code = 1
    finally:
        req.close(out)
    return code


if __name__ == "__main__":
    sys.exit(main())
