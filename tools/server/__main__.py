"""python -m tools.server: the coapcast desktop server.

Example (everything on loopback):
  python -m tools.server --bind 127.0.0.1 --port 5683 --group 224.0.1.187 --mc-if 127.0.0.1 \
      --interval 3 --wait 5 --update /r=2
"""
import asyncio
import logging
import socket
import sys

from coap import addr

from tools import cli
from tools.util import now_ms, wall_epoch_ms
from tools.server.core import ServerCore, Config
from tools.server.driver import ServerDriver, pm_flows
from tools.server import resources as R

log = logging.getLogger("coapcast.server")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

CONFIG_HELP = """--config FILE: JSON, {"resources": [ENTRY, ...]}; each ENTRY an object with "path" (required,
"/name") and optionally "value" (string, ""), "cf" (Content-Format, 0 = text/plain), "observable" (true),
"group_after" (null: traditional observation only; 0: a group observation from the start; K: when the K-th
observer registers), "writable" (false: PUT/POST allowed when true), "period_ms" (0; > 0: the value counts
up every period_ms), "rt", "title" (link attributes), "group" ("GRP_ADDR:GRP_PORT", this resource's own
group instead of --group). Example:
  {"resources": [{"path": "/lamp", "value": "off", "writable": true, "group_after": 1}]}"""


def _pv(s):
    path, _, v = s.partition("=")
    if not path.startswith("/"):
        raise cli.argparse.ArgumentTypeError("expected /path[=value], got %r" % s)
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
        k = -1
    if k < 0:
        raise cli.argparse.ArgumentTypeError("expected first, start, never or K (observers, >= 0), got %r" % s)
    return k


def parser():
    p = cli.Parser(prog="python -m tools.server", description=__doc__.splitlines()[0], epilog=CONFIG_HELP,
                   formatter_class=cli.argparse.RawDescriptionHelpFormatter)
    a = p.add_argument
    num = cli.number
    a("-6", "--ipv6", action="store_true", help="IPv6 (defaults: bind ::, group ff05::fd)")
    a("--bind", type=cli.ip, help="bind address (default 0.0.0.0, or :: with -6)")
    a("--port", type=cli.port(zero="any free port"), default=5683, help="SRV_PORT (default 5683)")
    a("--srv-addr", type=cli.ip, help="SRV_ADDR advertised in tp_info (default: the bind address, or the source "
                                      "address towards each client)")
    a("--group", type=cli.ip, help="GRP_ADDR, a multicast address (default 224.0.1.187, or ff05::fd with -6)")
    a("--group-port", type=cli.port(), default=5683, help="GRP_PORT (default 5683)")
    a("--mc-if", help="multicast interface: IPv4: its address (127.0.0.1 on loopback); IPv6: its name or index")
    a("--ttl", type=num(0, 255, True), default=1, help="multicast TTL / hop limit (default 1)")
    a("--no-loop", action="store_true", help="do not loop multicast back to this host")
    a("--policy", type=_policy, default=1,
      help="when group-observed resources start a group observation: first (default), start, never, or K observers")
    a("--interval", type=num(0), default=3.0, help="at most one notification per resource every S seconds (3)")
    a("--m", type=num(1, None, True), default=32, help="rough counting: confirmations wanted per round, M (32)")
    a("--d", type=num(0, above=True), default=4, help="rough counting: dampener D (4)")
    a("--wait", type=num(0), default=452.0, help="MAX_CONFIRMATION_WAIT in seconds (452)")
    a("--every", type=num(1, None, True), default=10,
      help="notifications between count updates when the estimate holds (10)")
    a("--token-len", type=num(1, 8, True), default=4, help="length of the group tokens T, 1..8 (4)")
    a("--ack-timeout", type=num(0, 60, above=True), help="RFC 7252 ACK_TIMEOUT in seconds for the CONs the "
                                                         "server sends (2)")
    a("--path-mtu", type=num(1, None, True), default=1280, help="path MTU for the 5%% payload warning (1280)")
    a("--max-payload", type=num(0, None, True), default=1024, help="largest request payload accepted (1024)")
    a("--dedup-max", type=num(1, None, True), default=20000,
      help="exchanges remembered for deduplication, RFC 7252 §4.5 (20000; the oldest go first)")
    a("--config", metavar="FILE", help="JSON file with more resources (format below)")
    a("--no-builtins", action="store_true", help="no /r, /time, /sensor, /telemetry")
    a("--resource", type=_pv, action="append", default=[], metavar="/PATH[=VALUE]",
      help="a writable, observable resource with traditional observation")
    a("--group-resource", type=_pv, action="append", default=[], metavar="/PATH[=VALUE]",
      help="a writable resource observed as a group (per --policy)")
    a("--update", type=_pv, action="append", default=[], metavar="/PATH=SECONDS",
      help="demo: increment the resource's value every SECONDS")
    cli.add_option_numbers(p)   # --mrfd, --ltmr, --pm-option, --cf-informative
    a("--discovery", nargs="?", const="/ps/topics", metavar="PATH",
      help="publish ph_req, last_notif, tp_info per group observation at PATH (/ps/topics; Appendix A.1, "
           "see tools/server/README.md)")
    a("--status-every", type=num(0), default=10.0, help="status line period in seconds (10; 0 = off)")
    a("--duration", type=num(0), default=0, help="exit after S seconds (0 = run until Ctrl-C)")
    a("--pm", type=int, choices=(0, 1), help="mark and measure with the PM option (draft-ietf-core-coap-pm), pattern 0 or 1")
    a("--oscore", metavar="KEYFILE", help="protected group observations (draft §6-7): OSCORE per client, Group "
                                          "OSCORE for the multicast notifications, with the server's key file "
                                          "(python -m tools.oscore_keys); sequence numbers kept in KEYFILE.seq")
    a("--pm-oscore", choices=("outer", "inner", "both"), default="outer",
      help="with --oscore: the PM option outer (class U: on-path probes measure; default), inner (class E: end "
           "to end only) or both (coap-pm §4.5)")
    a("--stats-json", metavar="PATH", help="at exit, write groups (count, rounds, R, notifications sent), "
                                           "PM figures and counters as JSON to PATH")
    a("--seed", type=int, help="random seed (tokens, MIDs)")
    a("--log-level", type=str.upper, choices=LOG_LEVELS, default="INFO", help="DEBUG, INFO (default), WARNING or ERROR")
    return p


def _family(opt, s, v6):
    """Raw bytes of address s; ValueError unless it is of the IP version in use (-6 or not)."""
    raw = addr.parse_ip(s)
    if v6 and len(raw) == 4:
        raise ValueError("%s %s is an IPv4 address: with -6 give an IPv6 address" % (opt, s))
    if not v6 and len(raw) == 16:
        raise ValueError("%s %s is an IPv6 address: add -6 (or give an IPv4 address)" % (opt, s))
    return raw


def validate(args):
    """Every start-up check that relates values (argparse types check each value alone), in one place.
    Fills in the defaults that depend on -6 and loads --config (args.config_resources). Raises
    ValueError with one line naming the option, the value and what is expected."""
    v6 = args.ipv6
    args.bind = args.bind or ("::" if v6 else "0.0.0.0")
    args.group = args.group or ("ff05::fd" if v6 else "224.0.1.187")
    if addr.is_multicast(_family("--bind", args.bind, v6)):
        raise ValueError("--bind %s is a multicast address: bind a unicast address of this host (or the "
                         "wildcard); the group is --group" % args.bind)
    g = _family("--group", args.group, v6)
    if not addr.is_multicast(g):
        raise ValueError("--group %s is not a multicast address (expected e.g. %s)" % (
            args.group, "ff05::fd" if v6 else "224.0.1.187"))
    if addr.is_link_local(g):
        raise ValueError("--group %s is link-local scope: tp_info must not carry it (draft §2.2); use e.g. ff05::fd"
                         % args.group)
    if args.srv_addr:
        s = _family("--srv-addr", args.srv_addr, v6)
        if addr.is_multicast(s) or addr.is_link_local(s) or s == bytes(len(s)):
            raise ValueError("--srv-addr %s: expected this host's unicast, non-link-local address as clients "
                             "reach it" % args.srv_addr)
    if args.mc_if:
        if not v6:
            try:
                _family("--mc-if", args.mc_if, False)
            except ValueError:
                raise ValueError("--mc-if %s: with IPv4 expected the interface's IPv4 address (e.g. 127.0.0.1)%s"
                                 % (args.mc_if, ", not its name" if _ifindex(args.mc_if) else ""))
        elif not (args.mc_if.isdigit() and _ifname(int(args.mc_if))) and not _ifindex(args.mc_if):
            raise ValueError("--mc-if %s: expected the name or index of a network interface of this host (e.g. eth0)"
                             % args.mc_if)
    cli.configure_option_numbers(args)   # ValueError: one line naming the flags
    if args.discovery is not None and not args.discovery.startswith("/"):
        raise ValueError("--discovery %s: expected a path starting with / (e.g. /ps/topics)" % args.discovery)
    args.config_resources = []
    if args.config:
        try:
            args.config_resources = R.from_config(args.config)
        except OSError as e:
            raise ValueError("--config %s: cannot read it (%s)" % (args.config, e.strerror or e))
        except ValueError as e:
            raise ValueError("--config %s: %s" % (args.config, e))
        for r in args.config_resources:
            if r.grp is not None:
                _family("--config %s: %s group" % (args.config, r.path), r.grp[0], v6)
    paths = set() if args.no_builtins else {r.path for r in R.builtins()}
    paths |= {r.path for r in args.config_resources}
    paths |= {p for p, _ in args.resource + args.group_resource}
    for path, secs in args.update:
        if path not in paths:
            raise ValueError("--update %s=%s: no resource %s (known: %s)" % (path, secs, path, " ".join(sorted(paths))))
        try:
            ok = float(secs or 1) > 0
        except ValueError:
            ok = False
        if not ok:
            raise ValueError("--update %s=%s: expected SECONDS > 0" % (path, secs))


def _ifindex(name):
    try:
        return socket.if_nametoindex(name)
    except OSError:
        return 0


def _ifname(index):
    try:
        return socket.if_indextoname(index)
    except OSError:
        return None


def build(args):
    """The core and its driver from parsed (and validated) arguments; nothing is bound yet."""
    import random
    cli.configure_option_numbers(args)
    bind = args.bind or ("::" if args.ipv6 else "0.0.0.0")
    group = args.group or ("ff05::fd" if args.ipv6 else "224.0.1.187")
    res = [] if args.no_builtins else R.builtins(group_after=args.policy, epoch_ms=wall_epoch_ms(), now=now_ms())
    if args.config:
        res += getattr(args, "config_resources", None) or R.from_config(args.config)
    for path, v in args.resource:
        res.append(R.Resource(path, v, writable=True, refresh=R._counter))
    for path, v in args.group_resource:
        res.append(R.Resource(path, v, writable=True, group_after=args.policy, refresh=R._counter))
    if args.discovery:
        from tools.server.discovery import Discovery
        res.append(Discovery(args.discovery))
    byp = {r.path: r for r in res}
    for path, secs in args.update:
        byp[path].period_ms = int(float(secs or 1) * 1000)
        if byp[path].refresh is None:
            byp[path].refresh = R._counter
    cfg = Config(grp=(group, args.group_port), srv_addr=args.srv_addr or (None if bind in ("0.0.0.0", "::") else bind),
                 srv_port=args.port, notify_interval_ms=int(args.interval * 1000), token_len=args.token_len,
                 m=args.m, d=args.d, wait_ms=int(args.wait * 1000), every=args.every, path_mtu=args.path_mtu,
                 max_payload=args.max_payload, dedup_max=args.dedup_max,
                 **({} if args.ack_timeout is None else {"ack_timeout_ms": int(args.ack_timeout * 1000)}))
    pm = None
    if args.pm is not None:
        from coap.pm import PMEndpoint
        pm = PMEndpoint("server", pattern=args.pm)
    core = ServerCore(list(byp.values()), cfg, pm=pm, rng=random.Random(args.seed))
    if args.oscore:  # the driver drives the protected server (tools/server/secure.py)
        from tools.server import secure
        try:
            core = secure.setup(core, args.oscore, pm=args.pm_oscore)
        except ValueError as e:
            raise ValueError("--oscore %s" % e)
    drv = ServerDriver(core, (bind, args.port), args.mc_if, args.ttl, not args.no_loop, args.status_every)
    return core, drv


async def amain(args, core, drv):
    await drv.start()
    if not log.isEnabledFor(logging.INFO):   # the banner scripts wait for, whatever the log level
        print("listening on %s:%d" % (drv.bind[0], drv.port), flush=True)
    for r in core.resources.values():
        if r.group_after == 0:
            drv.start_group(r.path)
    await cli.wait_for_stop(args.duration)
    log.info("shutting down: cancelling %d group observation(s)", len(core.groups))
    await drv.stop()
    if core.pm is not None:   # one line per flow (the figures in full: --stats-json)
        flows = pm_flows(core.pm)
        log.info("PM (pattern %d, draft-ietf-core-coap-pm): %d flow(s)%s", core.pm.pattern, len(flows),
                 "" if flows else "; nothing measured")
        for line in flows:
            log.info("PM   %s", line)
    if hasattr(core, "security_report"):   # --oscore
        log.info("OSCORE: %s", " ".join("%s=%s" % kv for kv in sorted(core.security_report().items())))
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
    p = parser()
    args = p.parse_args(argv)
    logging.basicConfig(level=getattr(logging, args.log_level), format="%(asctime)s %(levelname)s %(message)s",
                        stream=sys.stdout)
    try:   # everything is checked and the socket bound before anything starts
        validate(args)
        core, drv = build(args)
        drv.open()
    except ValueError as e:
        p.fail(str(e))
    except OSError as e:
        p.fail("cannot start: %s" % (e.strerror or e), 1)
    asyncio.run(amain(args, core, drv))


if __name__ == "__main__":
    main()
