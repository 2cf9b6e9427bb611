"""The asyncio half of the one core contract (CONTRACT.md), shared by the server and proxy drivers:
send what the core has queued (take()), keep one timer armed for its next_deadline(), run tick(now)
when it fires, cancel the timers at the end. A driver subclasses CoreLoop, owns the sockets and sets
self.core, self.transport (None while closed) and self.on_send (a callback(buf, dst), or None)."""
import asyncio

from tools.util import now_ms


class CoreLoop:
    core = None
    transport = None
    on_send = None
    _timer = None
    _status = None

    def flush(self):
        """Send what the core has queued, then re-arm the timer for its next deadline."""
        t = self.transport
        for buf, dst in self.core.take():
            self.sending(buf, dst)
            if t is not None and not t.is_closing():
                t.sendto(buf, dst)
        self.after_flush()
        self._reschedule()

    def sending(self, buf, dst):
        """Each datagram about to leave (the on_send callback; drivers add traces)."""
        if self.on_send is not None:
            self.on_send(buf, dst)

    def after_flush(self):
        """After the datagrams went out (the proxy joins and leaves its groups here)."""

    def _reschedule(self):
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        d = self.core.next_deadline()
        if d is None or self.transport is None:
            return
        self._timer = asyncio.get_running_loop().call_later(max(d - now_ms(), 0) / 1000.0, self._fire)

    def _fire(self):
        self._timer = None
        self.core.tick(now_ms())
        self.flush()

    def cancel_timers(self):
        for h in (self._timer, self._status):
            if h is not None:
                h.cancel()
        self._timer = self._status = None

    async def stop(self):
        """The core's shutdown(now) goes out on the wire, then the timers stop and the sockets close."""
        if self.transport is None:
            return
        self.core.shutdown(now_ms())
        self.flush()
        self.cancel_timers()
        await asyncio.sleep(0)
        self.closing()
        self.transport.close()
        self.transport = None

    def closing(self):
        """Before the main socket closes (the proxy closes its group sockets here)."""
