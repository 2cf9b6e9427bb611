"""The board runtimes `make setup` builds (tools/runtimes/build.sh), for the tests and the benches.

  unix32_bin()      build/runtimes/unix32/micropython: the unix port in 32 bits (None if not built)
  unix32f_bin()     the same with the firmware frozen (build.sh unix32f: make bench builds it)
  m0_elf()          build/runtimes/m0/firmware.elf: Cortex-M0 (armv6m), Pico W heap (None if not built)
  missing(name)     why "unix32" or "m0" cannot run here (None when it can): the text of a skip
  refresh(name)     rebuild "m0" (or "unix32f") if its frozen files changed, once per process
  M0(icount=False)  a Cortex-M0 under qemu-system-arm, driven over its serial pty with mpremote's raw
                    REPL: .exec(code, timeout) -> (stdout, stderr text), .reset(), .close();
                    icount=True: `-icount shift=0`, one guest instruction per virtual ns, so
                    time.ticks_cpu() (16 MHz) advances once per 62.5 instructions (tools/bench/m0.py)

The M0 firmware has the firmware (coap, coapcast), host_tests/fw and host_tests/mprun.py frozen; it has
no socket, select or asyncio, and its `time` is the nRF51 TIMER module in cmod/m0time.
"""
import os
import re
import shutil
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(ROOT, "build", "runtimes")
M0_HEAP = 196608  # build.sh: MICROPY_HEAP_SIZE (a Pico W's free heap)
QEMU = "qemu-system-arm"
QEMU_ARGS = ["-machine", "microbit", "-global", "nrf51-soc.flash-size=1048576",
             "-global", "nrf51-soc.sram-size=262144", "-nographic", "-monitor", "null", "-semihosting",
             "-serial", "pty"]
INSNS_PER_CPU_TICK = 62.5  # -icount shift=0: 1 instruction per ns; ticks_cpu() counts at 16 MHz
_BUILD = "make setup (tools/runtimes/build.sh)"


_fresh = set()


def refresh(name):
    """Bring a runtime up to date once per process (build.sh NAME: quick when nothing changed). The M0
    firmware has the firmware and the tests frozen: it is rebuilt when they change. Returns None, or
    the build's output when it failed."""
    if name in _fresh:
        return None
    p = subprocess.run(["bash", os.path.join(HERE, "build.sh"), name], capture_output=True, text=True)
    if p.returncode:
        return p.stdout + p.stderr
    _fresh.add(name)
    return None


def unix32_bin():
    b = os.path.join(OUT, "unix32", "micropython")
    return b if os.access(b, os.X_OK) else None


def unix32f_bin():
    """The 32-bit unix port with the firmware frozen (build.sh unix32f, built for make bench), or None."""
    b = os.path.join(OUT, "unix32f", "micropython")
    return b if os.access(b, os.X_OK) else None


def m0_elf():
    e = os.path.join(OUT, "m0", "firmware.elf")
    return e if os.path.exists(e) else None


def missing(name):
    if name == "unix32":
        return None if unix32_bin() else "the 32-bit unix port is not built (%s)" % _BUILD
    if name == "m0":
        if not m0_elf():
            return "the Cortex-M0 firmware is not built (%s)" % _BUILD
        if not shutil.which(QEMU):
            return "%s is not installed (%s)" % (QEMU, _BUILD)
        try:
            import mpremote.transport_serial  # noqa: F401
        except ImportError:
            return "mpremote is not installed (requirements-host.txt)"
        return None
    raise ValueError(name)


class M0Error(Exception):
    """QEMU did not finish the code: .output is what it printed before."""

    def __init__(self, msg, output=""):
        Exception.__init__(self, msg)
        self.output = output


class _Fault(Exception):
    pass


class M0:
    """One Cortex-M0 under QEMU. exec() runs code in the raw REPL (after a soft reset: a fresh heap
    and no modules loaded, unless reset=False) and returns its output; a timeout or a crash kills
    QEMU (the next exec boots a new one) and raises M0Error with what was printed."""

    def __init__(self, icount=False):
        self.icount = icount
        self.proc = None
        self.t = None

    def _boot(self):
        why = missing("m0")
        if why:
            raise M0Error(why)
        failed = refresh("m0")
        if failed:
            raise M0Error("tools/runtimes/build.sh m0 failed:\n" + failed[-3000:])
        args = [QEMU] + QEMU_ARGS + (["-icount", "shift=0"] if self.icount else []) + ["-kernel", m0_elf()]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        line = self.proc.stdout.readline()  # "char device redirected to /dev/pts/N (label serial0)"
        m = re.search(r"(/dev/pts/\d+)", line)
        if not m:
            self.close()
            raise M0Error("qemu did not open a serial pty: %r" % line)
        from mpremote.transport_serial import SerialTransport
        self.t = SerialTransport(m.group(1), baudrate=115200, timeout=5)
        self.t.enter_raw_repl(soft_reset=False)

    def exec(self, code, timeout=120, reset=True):
        """Run code; return (stdout, stderr) as text. timeout: seconds of silence allowed. A CPU
        fault (the port prints "<kind> exception caught:" and the registers, then spins) ends it."""
        from mpremote.transport import TransportError
        out = bytearray()

        def consume(b):
            out.extend(b)
            if b == b"\n" and b" exception caught:" in out[-400:] \
                    and out[out.rindex(b" exception caught:"):].count(b"\n") >= 6:  # through "xPSR: ..."
                raise _Fault()
        try:
            if self.t is None:
                self._boot()
            elif reset:
                self.t.enter_raw_repl(soft_reset=True)
            _, err = self.t.exec_raw(code, timeout=timeout, data_consumer=consume)
        except (TransportError, OSError, _Fault) as e:
            dead = self.proc is not None and self.proc.poll() is not None
            self.close()
            text = out.decode("utf-8", "replace")
            if isinstance(e, _Fault):
                raise M0Error("CPU fault (QEMU stopped):\n" + text[-3000:], text)
            raise M0Error("%s (%s); output:\n%s" % (e, "qemu exited" if dead else "killed after %d s of silence"
                                                     % timeout, text[-3000:]), text)
        return out.rstrip(b"\x04").decode("utf-8", "replace"), err.decode("utf-8", "replace")

    def close(self):
        if self.t is not None:
            try:
                self.t.close()
            except Exception:
                pass
            self.t = None
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            self.proc.stdout.close()
            self.proc = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

