"""python -m tools.proxy: the coapcast forward proxy (RFC 7252 §5.7, RFC 7641 §5, draft §8).

Examples (everything on loopback, see docs/environment.md):
  python -m tools.proxy --bind 127.0.0.1 --port 5684 --host sensor.example=127.0.0.1:5683
  python -m tools.proxy --bind 127.0.0.1 --port 5685 --next-hop 127.0.0.1:5684      (a second proxy in a chain)
Clients send Proxy-Uri: coap://sensor.example/r (or Proxy-Scheme + Uri-Host) to the proxy.
"""
import argparse
import asyncio
import json
import logging
import os
import random
import sys

from coap import addr, params
from tools import cli
from tools.proxy.core import ProxyCore, ProxyConfig
from tools.proxy.driver import ProxyDriver, Names

log = logging.getLogger("coapcast.proxy")


def _hostmap(s):
    """NAME=ADDR[:PORT] (IPv6 as [ADDR]:PORT) -> (name, (addr, port|None))."""
    name, sep, target = s.partition("=")
    if not sep or not name or addr_is_ip(name):
        raise argparse.ArgumentTypeError("expected NAME=ADDR[:PORT], got %r" % (s,))
    if target.startswith("[") or target.count(":") == 1:
        try:
            h, p = cli.hostport()(target)
        except argparse.ArgumentTypeError:
            raise argparse.ArgumentTypeError("expected NAME=ADDR[:PORT] (numeric address), got %r" % (s,))
        return name.lower(), (h, p)
    return name.lower(), (cli.ip(target), None)


def addr_is_ip(s):
    try:
        addr.parse_ip(s)
        return True
    except ValueError:
        return False


def parser():
    p = cli.Parser(prog="python -m tools.proxy", description=__doc__.splitlines()[0])
    a = p.add_argument
    sec = cli.number(0, None, above=True)
    count = cli.number(1, None, True)
    a("--bind", type=cli.ip, default="0.0.0.0", help="address to listen on (PRX_ADDR; default 0.0.0.0)")
    a("--port", type=cli.port(zero="any free port"), default=5683, help="PRX_PORT (default 5683)")
    a("--mc-if", type=cli.ip, help="IPv4 address group joins go out on (127.0.0.1 on loopback; default: "
                                   "127.0.0.1 when bound to loopback, else any)")
    a("--ifindex", type=cli.number(0, None, True), default=0, help="IPv6 interface index for group joins")
    a("--next-hop", type=cli.hostport(), help="HOST:PORT of the next proxy towards the servers (a chain: "
                                            "only the proxy adjacent to the origin joins groups, §8)")
    a("--host", type=_hostmap, action="append", default=[], metavar="NAME=ADDR[:PORT]",
      help="resolve a Proxy-Uri host name (repeatable); the name still goes upstream in Uri-Host")
    a("--dns", action="store_true", help="resolve other names with the system resolver")
    a("--ack-timeout", type=sec, default=params.ACK_TIMEOUT / 1000, help="ACK_TIMEOUT in s (2)")
    a("--max-retransmit", type=cli.number(0, 20, True), default=params.MAX_RETRANSMIT, help="MAX_RETRANSMIT (4)")
    a("--leisure", type=sec, default=params.DEFAULT_LEISURE / 1000,
      help="spread of MRFD answers in s (DEFAULT_LEISURE, 5)")
    a("--ack-delay", type=cli.number(0, None), default=0.5,
      help="a CON request waits this long (s) for a piggybacked answer before the empty ACK (0.5)")
    a("--wait", type=sec, default=params.MAX_TRANSMIT_WAIT / 1000,
      help="give a client 5.04 after S s without an upstream answer (MAX_TRANSMIT_WAIT, 93)")
    a("--con-every", type=count, default=20, help="every N-th notification to a client is CON (20)")
    a("--max-silence", type=sec, help="re-register a group observation after S s without notifications "
                                      "(default: the notifications' Max-Age)")
    a("--max-targets", type=count, default=1024, help="observed targets at most (1024)")
    a("--max-observers", type=count, default=10000, help="clients per target at most (10000)")
    a("--hop-limit", type=cli.number(1, 255, True), help="insert Hop-Limit (RFC 8768) when a request has none")
    a("--token-len", type=cli.number(1, 8, True), default=4, help="upstream token length (4)")
    cli.add_option_numbers(p)   # --mrfd, --ltmr, --pm-option, --cf-informative
    a("--pm", type=int, choices=(0, 1), help="collaborating PM proxy (draft-ietf-core-coap-pm): mark and "
                                             "measure each segment with pattern 0 or 1")
    a("--pm-forward", action="store_true", help="not collaborating: forward the PM option untouched "
                                                "(only when it is known to be safe to forward here)")
    a("--pm-strip", action="store_true", help="administrative boundary: remove PM in both directions")
    a("--status-every", type=cli.number(0, None), default=10.0, help="status line period in s (10; 0 = off)")
    a("--duration", type=cli.number(0, None), default=0, help="exit after S s (0 = until Ctrl-C)")
    a("--stats-json", metavar="PATH", help="at exit, write the counters and targets as JSON")
    a("--trace", metavar="PATH", help="write every datagram in and out as a JSON line (dir, peer, group, data hex)")
    a("--seed", type=int, help="random seed (tokens, Message IDs, Observe offsets)")
    a("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    return p


def validate(args):
    """The checks across values; ValueError(one line)."""
    if sum(1 for x in (args.pm is not None, args.pm_forward, args.pm_strip) if x) > 1:
        raise ValueError("--pm, --pm-forward and --pm-strip exclude each other")
    if args.next_hop and args.next_hop[1] == args.port and (
            args.next_hop[0] == args.bind or args.bind in ("0.0.0.0", "::") and args.next_hop[0] in ("127.0.0.1", "::1")):
        raise ValueError("--next-hop %s:%d is this proxy itself" % args.next_hop)
    for name in ("stats_json", "trace"):
        path = getattr(args, name)
        if path and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
            raise ValueError("--%s %s: no such directory" % (name.replace("_", "-"), path))
    cli.configure_option_numbers(args)   # ValueError: one line naming the flags


def build(args):
    cfg = ProxyConfig(next_hop=args.next_hop, token_len=args.token_len,
                      ack_timeout_ms=int(args.ack_timeout * 1000), max_retransmit=args.max_retransmit,
                      leisure_ms=int(args.leisure * 1000), ack_delay_ms=int(args.ack_delay * 1000),
                      wait_ms=int(args.wait * 1000), con_every=args.con_every,
                      max_silence_ms=int(args.max_silence * 1000) if args.max_silence else None,
                      max_targets=args.max_targets, max_observers=args.max_observers, hop_limit=args.hop_limit)
    pm = None
    if args.pm is not None or args.pm_forward or args.pm_strip:
        from tools.proxy.pm import ProxyPM
        pm = ProxyPM(pattern=args.pm, mode="collaborating" if args.pm is not None else
                     "forward" if args.pm_forward else "strip")
    core = ProxyCore(cfg, rng=random.Random(args.seed), resolve=Names(dict(args.host), args.dns), pm=pm)
    trace = open(args.trace, "w") if args.trace else None
    return core, ProxyDriver(core, (args.bind, args.port), args.mc_if, args.ifindex, args.status_every, trace=trace)


async def amain(args):
    core, drv = build(args)
    try:
        await drv.start()
    except OSError as e:
        raise SystemExit("python -m tools.proxy: cannot listen on %s:%d: %s" % (args.bind, args.port, e.strerror or e))
    print("proxy listening on %s:%d" % (args.bind, drv.port), flush=True)
    await cli.wait_for_stop(args.duration)
    await drv.stop()
    st = core.status()
    log.info("proxy stopped: %s", " ".join("%s=%d" % kv for kv in st["stats"].items() if kv[1]))
    if args.stats_json:
        tmp = args.stats_json + ".tmp"
        with open(tmp, "w") as f:
            json.dump(dict(st, pm=core.pm.stats() if core.pm is not None else None,
                           socket_errors=drv.socket_errors, join_errors=drv.join_errors), f, indent=1)
        os.replace(tmp, args.stats_json)


def main(argv=None):
    p = parser()
    args = p.parse_args(argv)
    try:
        validate(args)
    except ValueError as e:
        p.fail(str(e))
    logging.basicConfig(level=getattr(logging, args.log_level), format="%(asctime)s %(levelname)s %(message)s",
                        stream=sys.stdout)
    try:
        asyncio.run(amain(args))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
