# Resources of the desktop server: a value (bytes + Content-Format), flags, and for
# traditional observation (RFC 7641) the observers and the Observe sequence number.
import json
import random

from coap import optinfo as o   # the whole option table (coap.options and more)

GROUP_NEVER = None   # group_after: None = traditional observation only


class Resource:
    """A resource. group_after: None (never group-observed), 0 (group observation from the
    start), K >= 1 (start a group observation when the K-th observer registers; 1 = the
    first registration, draft §2). period_ms: the value refreshes itself (tick())."""

    def __init__(self, path, value=b"", cf=o.CF_TEXT, observable=True, group_after=GROUP_NEVER,
                 writable=False, period_ms=0, rt=None, title=None, refresh=None, grp=None):
        if not path.startswith("/"):
            raise ValueError("resource path must start with '/': %r" % path)
        self.path = path
        self.value = value.encode() if isinstance(value, str) else bytes(value)
        self.cf = cf
        self.observable = observable
        self.group_after = group_after
        self.writable = writable
        self.period_ms = period_ms
        self.rt = rt
        self.title = title
        self.refresh = refresh       # callable(res, now_ms) -> new bytes value, or None
        self.grp = grp               # (host, port) overriding the server's group endpoint
        self.next_refresh = None
        self.obs_seq = 0             # Observe sequence number (RFC 7641 §4.4), 24 bits
        self.observers = {}          # traditional observers: peer -> Observer
        self.group = None            # the GroupObservation when one is active
        self.last_notify = None      # ms of the last notification (rate limit, draft §2.4)
        self.pending = False         # an update is waiting for the rate limit
        self.updates = 0

    def segments(self):
        return [s for s in self.path.split("/") if s]

    def next_seq(self):
        self.obs_seq = (self.obs_seq + 1) & 0xFFFFFF
        return self.obs_seq

    def set(self, value, cf=None):
        self.value = value.encode() if isinstance(value, str) else bytes(value)
        if cf is not None:
            self.cf = cf
        self.updates += 1

    def tick(self, now):
        """Refresh a periodic value; True if the value changed."""
        if not self.period_ms or self.refresh is None:
            return False
        if self.next_refresh is None:
            self.next_refresh = now + self.period_ms
            return False
        if now < self.next_refresh:
            return False
        self.next_refresh = now + self.period_ms
        v = self.refresh(self, now)
        if v is None:
            return False
        self.set(v)
        return True

    def link(self):
        s = "<%s>" % self.path
        if self.observable:
            s += ";obs"
        s += ";ct=%d" % self.cf
        if self.rt:
            s += ';rt="%s"' % self.rt
        if self.title:
            s += ';title="%s"' % self.title
        return s


class Observer:
    """A traditional observer (RFC 7641): endpoint + token, per resource."""

    def __init__(self, peer, token, now):
        self.peer = peer
        self.token = token
        self.since = now
        self.sent = 0
        self.con_pending = False


def link_format(resources):
    """/.well-known/core (RFC 6690) with `obs` (RFC 7641 §6)."""
    return ",".join(r.link() for r in resources).encode()


# --- built-ins ---

def _counter(res, now):
    try:
        return str(int(res.value.decode()) + 1)
    except ValueError:
        return "1"


def _clock(epoch_ms):
    """/time's refresh: seconds since the Unix epoch on the core's clock, `now + epoch_ms`. The core
    reads no clock: the driver measures epoch_ms (the wall clock minus its ms ticks; tools.util.
    wall_epoch_ms); with the default 0, tests see their fake clock."""
    def now_s(res, now):
        return "%d" % ((now + epoch_ms) // 1000)
    return now_s


def _sensor_factory(seed=None):
    rng = random.Random(seed)

    def sensor(res, now):
        try:
            v = float(res.value.decode())
        except ValueError:
            v = 21.0
        v = min(max(v + rng.uniform(-0.3, 0.3), 10.0), 35.0)
        return "%.1f" % v
    return sensor


def builtins(group_after=1, r_period_ms=0, time_period_ms=1000, sensor_period_ms=5000, epoch_ms=0, now=0):
    """/r a counter (group-observed by default, PUT/POST publish), /time (traditional; the wall
    clock from epoch_ms, see _clock; `now`: the core's clock at start), /sensor a simulated
    temperature (group-observed), /telemetry where boards POST their periodic reports (2.04; the
    latest one is kept; traditional observation for a dashboard)."""
    clock = _clock(epoch_ms)
    return [
        Resource("/r", "0", o.CF_TEXT, group_after=group_after, writable=True,
                 period_ms=r_period_ms, refresh=_counter, rt="counter"),
        Resource("/time", clock(None, now), o.CF_TEXT, period_ms=time_period_ms, refresh=clock, rt="time"),
        Resource("/sensor", "21.0", o.CF_TEXT, group_after=group_after, period_ms=sensor_period_ms,
                 refresh=_sensor_factory(), rt="temperature"),
        Resource("/telemetry", "", o.CF_TEXT, writable=True, rt="telemetry"),
    ]


CONFIG_KEYS = {   # --config entry key -> (type, what is expected); "path" is required
    "path": (str, "a path starting with '/'"), "value": (str, "a string"), "cf": (int, "a Content-Format 0..65535"),
    "observable": (bool, "true or false"), "group_after": (int, "null, 0 (from the start) or K >= 1 observers"),
    "writable": (bool, "true or false"), "period_ms": (int, "an integer >= 0"), "rt": (str, "a string"),
    "title": (str, "a string"), "group": (str, "\"GRP_ADDR:GRP_PORT\" (a multicast address; IPv6 as [addr]:port)")}


def from_config(path):
    """A JSON file: {"resources": [{"path": "/x", "value": "1", "cf": 0, "observable": true,
    "group_after": 1, "writable": true, "period_ms": 0, "rt": "...", "title": "...",
    "group": "224.0.1.187:5683"}]} (every key but "path" optional; CONFIG_KEYS). Raises OSError
    (unreadable) or ValueError with one line naming the entry, the key and what is expected."""
    from coap import addr
    with open(path) as f:
        try:
            data = json.load(f)
        except ValueError as e:
            raise ValueError("not valid JSON (%s)" % e)
    if not isinstance(data, dict):
        raise ValueError('expected a JSON object {"resources": [...]}, got a %s' % type(data).__name__)
    for k in data:
        if k != "resources":
            raise ValueError("unknown key %r (known: resources)" % k)
    entries = data.get("resources", [])
    if not isinstance(entries, list):
        raise ValueError('"resources" must be a list of objects')
    out = []
    seen = set()
    for i, d in enumerate(entries):
        where = "resources[%d]" % i
        if not isinstance(d, dict):
            raise ValueError("%s: expected an object with at least \"path\", got %s" % (where, json.dumps(d)))
        for k, v in d.items():
            if k not in CONFIG_KEYS:
                raise ValueError("%s: unknown key %r (known: %s)" % (where, k, ", ".join(sorted(CONFIG_KEYS))))
            typ, what = CONFIG_KEYS[k]
            if k == "group_after" and v is None:
                continue
            ok = isinstance(v, typ) and not (typ is int and isinstance(v, bool))   # JSON true is no integer
            if ok and typ is int:
                ok = 0 <= v <= (0xFFFF if k == "cf" else 2 ** 31)
            elif ok and k == "path":
                ok = v.startswith("/")
            if not ok:
                raise ValueError("%s: %s is %s, expected %s" % (where, k, json.dumps(v), what))
        if "path" not in d:
            raise ValueError("%s: no \"path\" (each resource needs one, e.g. \"/r\")" % where)
        if d["path"] in seen:
            raise ValueError("%s: path %s given twice" % (where, d["path"]))
        seen.add(d["path"])
        grp = None
        if d.get("group"):
            h, _, p = d["group"].rpartition(":")
            h = h[1:-1] if h.startswith("[") and h.endswith("]") else h
            try:
                raw = addr.parse_ip(h)
                grp = (h, int(p))
            except ValueError:
                raw = None
            if raw is None or not addr.is_multicast(raw) or not 0 < grp[1] <= 0xFFFF:
                raise ValueError("%s: group is %s, expected %s" % (where, json.dumps(d["group"]), CONFIG_KEYS["group"][1]))
        out.append(Resource(d["path"], d.get("value", ""), d.get("cf", o.CF_TEXT),
                            d.get("observable", True), d.get("group_after"), d.get("writable", False),
                            d.get("period_ms", 0), d.get("rt"), d.get("title"),
                            _counter if d.get("period_ms") else None, grp))
    return out
