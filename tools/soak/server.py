"""The real desktop server (python -m tools.server) as a subprocess on 127.0.0.1, its output in a
log file. The RFC 7252 §4.8 ACK_TIMEOUT (--ack-timeout) and the exchange cache (--dedup-max) are
the server's own configuration: tests shorten them through its command line."""
import os
import signal
import subprocess
import time

from tools.util import ROOT, free_port, python_bin
from tools.soak.common import GROUP


class Server:
    """python -m tools.server on 127.0.0.1:port, group GROUP:gport; start() waits for its banner."""

    def __init__(self, port=None, gport=None, extra=(), ack_timeout_ms=None, dedup_max=None, log_dir="/tmp",
                 log_level="INFO"):
        self.port = port or free_port()
        self.gport = gport or free_port()
        self.extra = list(extra)
        self.ack_timeout_ms = ack_timeout_ms
        self.dedup_max = dedup_max
        self.log_path = os.path.join(log_dir, "coapcast-server-%d-%d.log" % (os.getpid(), self.port))
        self.log_level = log_level
        self.p = None
        self.starts = 0

    def command(self):
        cmd = [python_bin(), "-m", "tools.server", "--bind", "127.0.0.1", "--port", str(self.port), "--group", GROUP,
               "--group-port", str(self.gport), "--mc-if", "127.0.0.1", "--status-every", "0",
               "--log-level", self.log_level]
        if self.ack_timeout_ms:
            cmd += ["--ack-timeout", "%g" % (self.ack_timeout_ms / 1000)]
        if self.dedup_max:
            cmd += ["--dedup-max", str(self.dedup_max)]
        return cmd + self.extra

    def start(self, timeout=10):
        self.log = open(self.log_path, "a")
        self.log.write("=== start %d\n" % self.starts)
        self.log.flush()
        self.p = subprocess.Popen(self.command(), stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT)
        self.starts += 1
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if "listening on" in self.output().split("=== start %d" % (self.starts - 1))[-1]:
                return self
            if self.p.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("server did not start:\n" + self.output()[-3000:])

    def output(self):
        try:
            with open(self.log_path) as f:
                return f.read()
        except OSError:
            return ""

    def url(self, path, port=None):
        return "coap://127.0.0.1:%d%s" % (port or self.port, path)

    def stop(self, kill=False):
        """SIGTERM (clean: the §2.5 multicast cancellation goes out) or SIGKILL."""
        if self.p is None:
            return
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            self.p.wait(10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait(5)
        self.p = None
        self.log.close()

    @property
    def pid(self):
        return self.p.pid if self.p else None
