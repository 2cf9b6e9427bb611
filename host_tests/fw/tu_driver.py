# Socket-driver fixtures for test_driver_memory and test_board_limits (both runtimes): a stand-in for
# the client core that records what the driver hands it, and a driver on a free 127.0.0.1 port.
from coap import driver


class Core:
    """The core's side of the driver contract (receive/tick/take/next_deadline, groups, stats)."""

    def __init__(self, groups=None):
        self.groups = groups or {}
        self.got = []

        class S:
            pass
        self.stats = S()
        self.stats.dropped = {"internal": 0}

    def receive(self, data, src, now, group=None):
        self.got.append(bytes(data))

    def tick(self, now):
        pass

    def next_deadline(self):
        return None

    def take(self):
        return []


def driver_on_free_port(core, log=lambda s: None):
    """(Driver on 127.0.0.1, its port): seeded tries (the unix port has no getsockname)."""
    from tools.rng import Rng
    rng = Rng(1472)
    for _ in range(50):
        p = 20000 + rng.getrandbits(15)
        try:
            return driver.Driver(core, "127.0.0.1", p, "127.0.0.1", 0, log), p
        except OSError:
            pass
    raise OSError("no free port")
