# coapcast board app (run by main.py; compiled to .mpy so a 64k board does not compile it at boot): boot -> network -> observe the configured resources -> print each
# notification -> (optional) PM-marked telemetry; survives Wi-Fi drops and server restarts by
# reconnecting and re-registering. Configuration: config.py (template: boards/common/config_template.py).
import gc
import time

import board
import config

try:
    import secrets
except ImportError:
    secrets = None

from coap import options, uri as _uri

try:
    options.configure(mrfd=getattr(config, "MRFD_OPTION", None), ltmr=getattr(config, "LTMR_OPTION", None),
                      pm=getattr(config, "PM_OPTION", None), cf_informative=getattr(config, "CF_INFORMATIVE", None))
except (ValueError, TypeError) as e:
    print("config: MRFD_OPTION/LTMR_OPTION/PM_OPTION/CF_INFORMATIVE: %s; using the drafts' defaults (the server "
          "must agree)" % e)

import coapcast  # noqa: E402  (after the option numbers are set)

RETRY_S = getattr(config, "RETRY_S", 5)        # first re-registration back-off; doubles to 60 s
STATUS_S = getattr(config, "STATUS_S", 10)      # a status line every STATUS_S seconds
TELEMETRY_S = getattr(config, "TELEMETRY_S", 0)  # a telemetry POST every TELEMETRY_S seconds (0: off)
LED = getattr(config, "LED", True)              # blink the on-board LED per notification


def uri_error(u):
    """None if u is a coap:// URI the client can use, else what is wrong with it (a permanent error)."""
    if not isinstance(u, str):
        return "is %r, expected a coap:// URI string" % (u,)
    try:
        _uri.parse(u)
    except ValueError as e:
        return str(e)
    return None


def targets(cfg, log=print):
    """The URIs of cfg.OBSERVE to observe: a list of coap:// URIs (one string is one URI). An entry
    that cannot be one is reported once, naming it and what is expected, and skipped; the rest run."""
    obs = getattr(cfg, "OBSERVE", None)
    if isinstance(obs, str):
        obs = [obs]
    if obs is None or not isinstance(obs, (list, tuple)):
        log("config: OBSERVE is %r: expected a list of coap:// URIs, e.g. OBSERVE = [\"coap://192.0.2.10/r\"]; "
            "observing nothing" % (obs,))
        return []
    out = []
    for k in range(len(obs)):
        u = obs[k]
        why = uri_error(u)
        if why is None and u in out:
            why = "repeats OBSERVE[%d]" % out.index(u)
        if why is not None:
            log("config: OBSERVE[%d] %s; skipped" % (k, why))
        else:
            out.append(u)
    return out


def telemetry_uri(cfg, log=print):
    """TELEMETRY_URI when telemetry is on (TELEMETRY_S > 0) and the URI is usable, else None (said once)."""
    s = getattr(cfg, "TELEMETRY_S", 0)
    if not isinstance(s, (int, float)) or s <= 0:
        if s:
            log("config: TELEMETRY_S is %r, expected seconds (0: off); telemetry off" % (s,))
        return None
    u = getattr(cfg, "TELEMETRY_URI", None)
    why = "is not set" if u is None else uri_error(u)
    if why is not None:
        log("config: TELEMETRY_URI %s; telemetry off" % why)
        return None
    return u


def oscore(cfg, log=print):
    """Protected group observations (draft §6-7) when cfg has OSCORE: the coap.groupsec.GroupSec made
    from OSCORE, GROUP_OSCORE (python -m tools.oscore_keys writes them) and PM_OSCORE, OSCORE_STEPS,
    OSCORE_SEQ_FILE; None without OSCORE; False when they are unusable (said once: a board configured
    for OSCORE never falls back to unprotected operation)."""
    if getattr(cfg, "OSCORE", None) is None:
        return None
    from coap import groupsec  # loaded only with OSCORE
    try:
        return groupsec.from_config(cfg, log)
    except ValueError as e:
        log("config: %s; observing nothing (a board configured for OSCORE does not run unprotected)" % e)
        return False


def pm_pattern(cfg, log=print):
    """PM_PATTERN: None (no PM), 0 or 1; anything else is said once and PM is off."""
    p = getattr(cfg, "PM_PATTERN", None)
    if p is None or p == 0 or p == 1:
        return p
    log("config: PM_PATTERN is %r, expected None, 0 or 1; PM off" % (p,))
    return None


class App:
    def __init__(self):
        # the configuration is checked once: what cannot work is said here and left out, the rest runs
        self.uris = targets(config)
        self.tel_uri = telemetry_uri(config)
        self.pm = pm_pattern(config)
        self.sec = oscore(config)  # one for the app's life: its sequence numbers go on across restarts
        if self.sec is False:
            self.uris = []
            self.tel_uri = None
            self.sec = None
        self.client = None
        self.obs = {}        # uri -> Observation
        self.retry = {}      # uri -> (due ticks_ms, back-off s)
        self.count = {}      # uri -> notifications delivered
        self.t0 = time.ticks_ms()
        self.tel_at = None   # next telemetry POST (ticks_ms)
        self.tel = [0, 0, 0]  # telemetry: sent, answered, failed

    def start(self):
        ip = None
        while ip is None:
            try:
                ip = board.connect(config, secrets)
            except OSError as e:
                print("net: %s; retrying in %d s" % (e, RETRY_S))
                time.sleep(RETRY_S)
        # JOIN_IFACE: the local address the IGMP join goes out on, when not the Wi-Fi station's
        self.client = coapcast.Client(iface=getattr(config, "JOIN_IFACE", None) or ip,
                                      leisure_ms=int(getattr(config, "LEISURE_S", 5) * 1000), pm=self.pm,
                                      oscore=self.sec)
        if self.tel_uri is not None:
            self.tel_at = time.ticks_add(time.ticks_ms(), TELEMETRY_S * 1000)
        for uri in list(self.uris):
            self.count[uri] = 0
            self.observe(uri)

    def observe(self, uri):
        def on_notify(payload, cf, observe, via):
            if LED:
                board.led(1)
            self.count[uri] += 1
            self.retry.pop(uri, None)
            print("notify %s obs=%d via=%s cf=%s %r" % (uri, observe, "group" if via == coapcast.GROUP else "unicast",
                                                       cf, bytes(payload)))
            board.led(0)

        def on_end(o, reason):
            self.again(uri, "ended %s: %s" % (uri, reason))

        try:
            self.obs[uri] = self.client.observe(uri, on_notify, on_end)
            print("observe %s" % uri)
        except ValueError as e:  # permanent (the URI or the address it names cannot be used): once
            print("observe %s: %s; not retried (fix OBSERVE in config.py)" % (uri, e))
            self.uris.remove(uri)
            self.retry.pop(uri, None)
        except OSError as e:  # transient (name lookup, network): retried with back-off
            self.again(uri, "observe %s failed: %s" % (uri, e))

    def again(self, uri, what):
        """Register uri again after a back-off (RETRY_S, doubling up to 60 s)."""
        due, backoff = self.retry.get(uri, (0, RETRY_S))
        print("%s; re-registering in %d s" % (what, backoff))
        self.retry[uri] = (time.ticks_add(time.ticks_ms(), backoff * 1000), min(backoff * 2, 60))

    def telemetry(self, now):
        """The periodic report (text, Content-Format 0): uptime s, notifications received, free heap.
        PM-marked like every request when PM is on; its answer gives the client an RTT sample."""
        self.tel_at = time.ticks_add(now, TELEMETRY_S * 1000)
        tel = self.tel

        def done(code, payload, cf):
            if code is None:
                tel[2] += 1
            else:
                tel[1] += 1

        body = "up=%d rx=%d free=%d" % (time.ticks_diff(now, self.t0) // 1000, sum(self.count.values()),
                                        gc.mem_free())
        try:
            self.client.post(self.tel_uri, body.encode(), done, 0, getattr(config, "TELEMETRY_CON", True))
            tel[0] += 1
        except ValueError as e:  # permanent: said once, telemetry off
            print("telemetry %s: %s; telemetry off" % (self.tel_uri, e))
            self.tel_at = None
        except OSError as e:
            print("telemetry %s failed: %s" % (self.tel_uri, e))

    def step(self):
        now = time.ticks_ms()
        if self.tel_at is not None and time.ticks_diff(now, self.tel_at) >= 0:
            self.telemetry(now)
        for uri, (due, _) in list(self.retry.items()):
            if time.ticks_diff(now, due) >= 0:
                self.retry[uri] = (time.ticks_add(now, 3600000), self.retry[uri][1])
                self.observe(uri)
        if not board.connected():
            print("net: link lost; reconnecting")
            self.client.close()
            self.obs.clear()
            self.start()

    def status(self):
        gc.collect()
        line = "status %s free=%d %r" % (" ".join("%s=%d" % kv for kv in self.count.items()), gc.mem_free(),
                                         self.client.stats)
        if self.tel_at is not None:
            line += " telemetry=%d/%d/%d" % tuple(self.tel)   # sent/answered/failed
        sec = self.sec
        if sec is not None:   # Group OSCORE: notifications verified, messages rejected (all reasons)
            line += " oscore verified=%d rejected=%d informative=%d" % (sec.stats.verified, sec.rejected(),
                                                                        sec.stats.informative)
        # PM (one part per flow: the server's unicast flow, each group's multicast notifications)
        pm = self.client.pm
        print(" | ".join([line] + pm.lines()) if pm else line)

    def run(self):
        self.start()
        last = time.ticks_ms()
        while True:
            try:
                self.client.run(500)
                self.step()
            except OSError as e:  # socket trouble: rebuild everything
                print("net: %s; restarting the client" % e)
                try:
                    self.client.close()
                except OSError:
                    pass
                time.sleep(1)
                self.obs.clear()
                self.start()
            if time.ticks_diff(time.ticks_ms(), last) >= STATUS_S * 1000:
                last = time.ticks_ms()
                self.status()


def main():
    App().run()
