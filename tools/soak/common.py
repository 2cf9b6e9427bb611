"""What every part of the soak harness shares: the group address, the long-run switch, the figures
file, a process's resident memory and the attackers' thread."""
import json
import os
import threading

GROUP = "224.0.1.187"
SOAK = os.environ.get("COAPCAST_SOAK") == "1"     # the long variants (make soak)


def figure(name, **kw):
    """Record a figure for `make soak` (no-op unless $COAPCAST_FIGURES is set)."""
    path = os.environ.get("COAPCAST_FIGURES")
    if path:
        kw["name"] = name
        with open(path, "a") as f:
            f.write(json.dumps(kw) + "\n")


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


class Worker(threading.Thread):
    """A daemon thread running self._run(), whose exception ends up in .error (the test reads it), not on stderr."""

    def __init__(self):
        super().__init__(daemon=True)
        self.error = None

    def run(self):
        try:
            self._run()
        except Exception as e:
            self.error = repr(e)
