"""Bad input from the network, in one place for the server and proxy cores: always counted
(stats[kind]), logged as one line at most `rate` times per second (the rest counted in
stats["log_suppressed"], and said once when the second ends), so a flood cannot fill a log."""


class BadInput:
    def __init__(self, log, stats, rate=20):
        self.log = log          # a logging.Logger
        self.stats = stats      # the core's counters (a dict with "log_suppressed")
        self.rate = rate
        self._sec = 0
        self._n = 0

    def __call__(self, kind, peer, what, now):
        """kind: the counter; peer: (host, port); what: the one line; now: ms."""
        self.stats[kind] += 1
        sec = now // 1000
        if sec != self._sec:
            if self._n > self.rate:
                self.log.warning("%d bad-input log lines suppressed", self._n - self.rate)
            self._sec, self._n = sec, 0
        self._n += 1
        if self._n <= self.rate:
            self.log.warning("bad input from %s:%d: %s", peer[0], peer[1], what)
        else:
            self.stats["log_suppressed"] += 1
