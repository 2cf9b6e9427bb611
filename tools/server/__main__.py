"""python -m tools.server: the coapcast desktop server (issue 4).

Example (everything on loopback, see NOTES.md):
  python -m tools.server --bind 127.0.0.1 --port 5683 --group 224.0.1.187 --mc-if 127.0.0.1 \
      --interval 3 --wait 5 --update /r=2
"""
import argparse
import asyncio
import logging
import signal
import sys

import tools.server  # noqa: F401  (puts firmware/ on sys.path)
from coap import options as o

from tools.server.core import ServerCore, Config, now_ms
from tools.server.driver import ServerDriver
from tools.server import resources as R

log = logging.getLogger("coapcast.server")


def _pv(s):
    path, _, v = s.partition("=")
    if not path.startswith("/"):
        raise argparse.ArgumentTypeError("expected /path[=value], got %r" % s)
    return path, v


def _policy(s):
    if s == "never":
        return None
    if s == "first":
        return 1
    if s == "start":
        return 0
    try:
        k = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError("policy: first | start | never | K (observers)")
    if k < 0:
        raise argparse.ArgumentTypeError("K must be >= 0")
    return k


def parser():
    p = argparse.ArgumentParser(prog="python -m tools.server", description=__doc__.splitlines()[0])
    a = p.add_argument
    a("-6", "--ipv6", action="store_true", help="IPv6 (defaults: bind ::, group ff05::fd)")
    a("--bind", help="bind address (default 0.0.0.0, or :: with -6)")
    a("--port", type=int, default=5683, help="SRV_PORT (default 5683)")
    a("--srv-addr", help="SRV_ADDR advertised in tp_info (default: the bind address, or the source "
                         "address towards each client)")
    a("--group", help="GRP_ADDR (default 224.0.1.187, or ff05::fd with -6)")
    a("--group-port", type=int, default=5683, help="GRP_PORT (default 5683)")
    a("--mc-if", help="multicast interface: IPv4 address (127.0.0.1 on loopback) or IPv6 interface name/index")
    a("--ttl", type=int, default=1, help="multicast TTL / hop limit (default 1)")
    a("--no-loop", action="store_true", help="do not loop multicast back to this host")
    a("--policy", type=_policy, default=1,
      help="when group-observed resources start a group observation: first (default), start, never, or K observers")
    a("--interval", type=float, default=3.0, help="at most one notification per resource every S seconds (3)")
    a("--m", type=int, default=32, help="rough counting: confirmations wanted per round, M (32)")
    a("--d", type=float, default=4, help="rough counting: dampener D (4)")
    a("--wait", type=float, default=452.0, help="MAX_CONFIRMATION_WAIT in seconds (452)")
    a("--every", type=int, default=10, help="notifications between count updates when the estimate holds (10)")
    a("--token-len", type=int, default=4, help="length of the group tokens T (4)")
    a("--path-mtu", type=int, default=1280, help="path MTU for the 5%% payload warning (1280)")
    a("--max-payload", type=int, default=1024, help="largest request payload accepted (1024)")
    a("--config", help="JSON file with resources (see resources.from_config)")
    a("--no-builtins", action="store_true", help="no /r, /time, /sensor")
    a("--resource", type=_pv, action="append", default=[], metavar="/PATH[=VALUE]",
      help="a writable, observable resource with traditional observation")
    a("--group-resource", type=_pv, action="append", default=[], metavar="/PATH[=VALUE]",
      help="a writable resource observed as a group (per --policy)")
    a("--update", type=_pv, action="append", default=[], metavar="/PATH=SECONDS",
      help="demo: increment the resource's value every SECONDS")
    a("--mrfd", type=int, help="option number of Multicast-Response-Feedback-Divider (65002)")
    a("--cf-informative", type=int, help="Content-Format of informative responses (65000)")
    a("--status-every", type=float, default=10.0, help="status line period in seconds (10; 0 = off)")
    a("--duration", type=float, default=0, help="exit after S seconds (0 = run until Ctrl-C)")
    a("--pm", type=int, choices=(0, 1), help="mark and measure with the PM option (draft-ietf-core-coap-pm), pattern 0 or 1")
    a("--stats-json", metavar="PATH", help="at exit, write groups (count, rounds, R, notifications sent), "
                                           "PM figures and counters as JSON to PATH")
    a("--seed", type=int, help="random seed (tokens, MIDs)")
    a("--log-level", default="INFO")
    return p


def build(args):
    import random
    if args.mrfd is not None or args.cf_informative is not None:
        o.configure(mrfd=args.mrfd, cf_informative=args.cf_informative)
    bind = args.bind or ("::" if args.ipv6 else "0.0.0.0")
    group = args.group or ("ff05::fd" if args.ipv6 else "224.0.1.187")
    res = [] if args.no_builtins else R.builtins(group_after=args.policy)
    if args.config:
        res += R.from_config(args.config)
    for path, v in args.resource:
        res.append(R.Resource(path, v, writable=True, refresh=R._counter))
    for path, v in args.group_resource:
        res.append(R.Resource(path, v, writable=True, group_after=args.policy, refresh=R._counter))
    byp = {r.path: r for r in res}
    for path, secs in args.update:
        if path not in byp:
            raise SystemExit("--update: no resource %s" % path)
        byp[path].period_ms = int(float(secs or 1) * 1000)
        if byp[path].refresh is None:
            byp[path].refresh = R._counter
    cfg = Config(grp=(group, args.group_port), srv_addr=args.srv_addr or (None if bind in ("0.0.0.0", "::") else bind),
                 srv_port=args.port, notify_interval_ms=int(args.interval * 1000), token_len=args.token_len,
                 m=args.m, d=args.d, wait_ms=int(args.wait * 1000), every=args.every, path_mtu=args.path_mtu,
                 max_payload=args.max_payload)
    pm = None
    if args.pm is not None:
        from coap.pm import PMEndpoint
        pm = PMEndpoint("server", pattern=args.pm)
    core = ServerCore(list(byp.values()), cfg, pm=pm, rng=random.Random(args.seed))
    drv = ServerDriver(core, (bind, args.port), args.mc_if, args.ttl, not args.no_loop, args.status_every)
    return core, drv


async def amain(args):
    core, drv = build(args)
    await drv.start()
    if not log.isEnabledFor(logging.INFO):   # the banner scripts wait for, whatever the log level
        print("listening on %s:%d" % (drv.bind[0], drv.port), flush=True)
    for r in core.resources.values():
        if r.group_after == 0:
            drv._io(core.start_group(r.path, now_ms()))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass
    try:
        if args.duration:
            await asyncio.wait_for(stop.wait(), args.duration)
        else:
            await stop.wait()
    except asyncio.TimeoutError:
        pass
    log.info("shutting down: cancelling %d group observation(s)", len(core.groups))
    await drv.stop()
    if core.pm is not None:
        log.info("PM: %s", core.pm.stats())
    if args.stats_json:
        write_report(core, args.stats_json)


def write_report(core, path):
    import json
    import os
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(core.report(), f, indent=1)
    os.replace(tmp, path)   # readers never see a half-written file
    log.info("stats written to %s", path)


def main(argv=None):
    args = parser().parse_args(argv)
    logging.basicConfig(level=getattr(logging, args.log_level.upper(), logging.INFO),
                        format="%(asctime)s %(levelname)s %(message)s", stream=sys.stdout)
    asyncio.run(amain(args))


if __name__ == "__main__":
    main()
