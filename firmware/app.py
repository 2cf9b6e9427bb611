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

from coap import options

options.configure(mrfd=getattr(config, "MRFD_OPTION", None), ltmr=getattr(config, "LTMR_OPTION", None),
                  pm=getattr(config, "PM_OPTION", None), cf_informative=getattr(config, "CF_INFORMATIVE", None))

import coapcast  # noqa: E402  (after the option numbers are set)

RETRY_S = getattr(config, "RETRY_S", 5)        # first re-registration back-off; doubles to 60 s
STATUS_S = getattr(config, "STATUS_S", 10)      # a status line every STATUS_S seconds
TELEMETRY_S = getattr(config, "TELEMETRY_S", 0)  # a telemetry POST every TELEMETRY_S seconds (0: off)
TELEMETRY_URI = getattr(config, "TELEMETRY_URI", None)
PM_PATTERN = getattr(config, "PM_PATTERN", None)  # None: no PM; 0 (Q+S) or 1 (C): draft-ietf-core-coap-pm


class App:
    def __init__(self):
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
        self.client = coapcast.Client(iface=ip, leisure_ms=int(getattr(config, "LEISURE_S", 5) * 1000),
                                      pm=PM_PATTERN)
        if TELEMETRY_S > 0 and TELEMETRY_URI:
            self.tel_at = time.ticks_add(time.ticks_ms(), TELEMETRY_S * 1000)
        for uri in config.OBSERVE:
            self.count[uri] = 0
            self.observe(uri)

    def observe(self, uri):
        def on_notify(payload, cf, observe, via):
            board.led(1)
            self.count[uri] += 1
            self.retry.pop(uri, None)
            print("notify %s obs=%d via=%s cf=%s %r" % (uri, observe, "group" if via == coapcast.GROUP else "unicast",
                                                       cf, bytes(payload)))
            board.led(0)

        def on_end(o, reason):
            due, backoff = self.retry.get(uri, (0, RETRY_S))
            print("ended %s: %s; re-registering in %d s" % (uri, reason, backoff))
            self.retry[uri] = (time.ticks_add(time.ticks_ms(), backoff * 1000), min(backoff * 2, 60))

        try:
            self.obs[uri] = self.client.observe(uri, on_notify, on_end)
            print("observe %s" % uri)
        except (OSError, ValueError) as e:
            print("observe %s failed: %s" % (uri, e))
            on_end(None, str(e))

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
            self.client.post(TELEMETRY_URI, body.encode(), done, 0, getattr(config, "TELEMETRY_CON", True))
            tel[0] += 1
        except (OSError, ValueError) as e:
            print("telemetry %s failed: %s" % (TELEMETRY_URI, e))

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
