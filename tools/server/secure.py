"""Protected group observations, the server's side (draft -04 §6.2, §7): `python -m tools.server
--oscore KEYFILE`.

  sec = secure.setup(core, "keys/server.json", pm="outer")   # -> SecureServer around the core

Two layers, neither inside tools/server/core.py:
  GroupSecurity  the core's Group OSCORE seam (Config.security, see group.NoSecurity): the phantom
                 registration request is protected in group mode with the server's Sender Context,
                 consuming a Sender Sequence Number (kid = the server's Sender ID, piv = that number, kid
                 context = Gid; §6.2.1), so ph_req carries it protected (outer code FETCH, outer options,
                 ciphertext and encrypted signature; §6.2.2); INIT_NOTIF and every multicast notification
                 are protected in group mode bound to the phantom request (request_kid/piv/kid_context
                 from its OSCORE option, §6.2.3), each with a fresh Partial IV and the Gid named; the
                 informative response carries join_uri, sec_gp and the optional §6.1 fields (§10 keys
                 4-12) from the key file.
                 The cancellation (§2.5, §6.2.4): the phantom cancellation request is protected and
                 consumes a number as §6.2.4 says, but clients never see it, so a 5.03 bound to it could
                 not be verified by anyone. Our binding: the multicast 5.03 is protected like a
                 notification, bound to the phantom REGISTRATION request with a fresh Partial IV (as the
                 later working-group versions of the draft do): every member verifies it with what it
                 already holds, and its PIV is replay-checked with the notifications'.
  SecureServer   wraps the core at the datagram level (RFC 8613 per client, §6 "the original
                 registration requests and related unicast responses MUST also be secured"): requests
                 are verified with the client's context (by kid; §7.4 replay window) and the core gets the
                 plain request; every unicast response the core sends (piggybacked or separate, the
                 informative response, traditional notifications, errors) is protected bound to its
                 request: the informative response and notifications with a fresh Partial IV (as §7
                 shows: OSCORE {piv: 301}), others reusing the request's nonce once. Requests without
                 OSCORE or that fail verification are answered unprotected as RFC 8613 §8.2 says (4.01
                 Unauthorized, 4.02 Bad Option, 4.00 Bad Request) and counted; the core never sees them.
                 A retransmitted request (same Message ID) reaches the core's deduplication as the plain
                 request it first was, before any replay check (RFC 7252 §4.5 comes first).

Sender Sequence Numbers (RFC 8613 §7.5.1, Appendix B.1.1): kept in KEYFILE.seq (JSON {context: n}),
written ahead in chunks: at start every context resumes from its stored value, which is above any
number it used before, and the next chunk is reserved on disk before it is used.

PM with OSCORE (coap-pm §4.5): pm="outer" (class U: the relay/probe keeps measuring; the default),
"inner" (class E: end to end only) or "both" (inner, plus an outer copy for the next hop). LTMR (draft
§9.1) is class U.
"""
import json
import logging
import os
from collections import OrderedDict

from coap import msg, addr, cose, oscore, inforesp
from coap import optinfo as o   # the whole option table (coap.options and more)
from coap.groupsec import outer_copy, PM_MODES

from tools import oscore_keys
from tools.server.group import NoSecurity

log = logging.getLogger("coapcast.server")

UNAUTHORIZED = 0x81      # 4.01
BAD_OPTION = 0x82        # 4.02
BAD_REQUEST = 0x80       # 4.00
BINDINGS_MAX = 100000    # (client, token) -> request binding, kept for responses and notifications
SEEN_MAX = 20000         # verified requests remembered for deduplication

# RFC 8613 §8.2: why a request was rejected -> the unprotected error answering it
_ERRORS = {"option": (BAD_OPTION, "Bad OSCORE option"), "piv": (BAD_OPTION, "No Partial IV"),
           "kid": (UNAUTHORIZED, "Security context not found"),
           "kid_context": (UNAUTHORIZED, "Security context not found"),
           "mode": (UNAUTHORIZED, "Security context not found"),
           "replay": (UNAUTHORIZED, "Replay detected"), "not_protected": (UNAUTHORIZED, "OSCORE required")}
_DECRYPT = (BAD_REQUEST, "Decryption failed")


def _outer(pm):
    if pm not in PM_MODES:
        raise ValueError("PM with OSCORE: %r, expected one of %s" % (pm, ", ".join(PM_MODES)))
    return oscore.OUTER + ((o.LTMR, o.PM) if pm == "outer" else (o.LTMR,))


class SeqStore:
    """Sender Sequence Numbers written ahead to `path` by `chunk` (RFC 8613 Appendix B.1.1)."""

    def __init__(self, path, chunk=256):
        self.path = path
        self.chunk = chunk
        self.ctxs = {}
        self.limit = {}
        self.writes = 0
        try:
            with open(path) as f:
                self.stored = {k: int(v) for k, v in json.load(f).items()}
        except FileNotFoundError:
            self.stored = {}
        except (OSError, ValueError, TypeError, AttributeError) as e:
            raise ValueError("%s: not a sequence-number file (%s); a context must never reuse a number, so "
                             "this is not ignored: fix or remove it only with new keys" % (path, e))

    def add(self, name, ctx):
        """ctx (anything with .seq) resumes from its stored number."""
        ctx.seq = max(ctx.seq, self.stored.get(name, 0))
        self.ctxs[name] = ctx

    def check(self, force=False):
        """Reserve the next chunk on disk for every context that reached its reserved limit."""
        dirty = force
        for name, c in self.ctxs.items():
            if c.seq >= self.limit.get(name, -1):
                self.limit[name] = c.seq + self.chunk
                dirty = True
        if dirty:
            tmp = self.path + ".tmp"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                json.dump(dict(self.stored, **self.limit), f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
            self.writes += 1


class GroupSecurity(NoSecurity):
    """The core's Group OSCORE seam: sender (tools.oscore_group.GroupSender), fields (the §6.1 keys
    4-12 for the informative response), store (SeqStore or None)."""

    def __init__(self, sender, fields, pm="outer", store=None):
        self.sender = sender
        sender.outer = _outer(pm)
        self.pm_both = pm == "both"
        self.fields = fields
        self.store = store
        self.counts = dict.fromkeys(("ph_req", "notif", "ph_cancel", "cancel"), 0)

    def protect(self, group, buf, kind):
        s = self.sender
        if kind == "ph_req" or kind == "ph_cancel":  # §6.2.1, §6.2.4: consumes a Sender Sequence Number
            out, b = s.protect_request(buf)
            if kind == "ph_req":
                group.ph_binding = b  # kid, piv, kid context of the phantom registration request
        else:  # "notif" (INIT_NOTIF too, §6.2.2-6.2.3) and "cancel": bound to the phantom registration
            out = s.protect_response(buf, group.ph_binding, fresh=True, kid_context=True)
        if self.pm_both:
            out = outer_copy(out, buf, o.PM)
        self.counts[kind] += 1
        if self.store is not None:
            self.store.check()
        return out

    def extra(self, group):
        return self.fields


def info_keys(kf):
    """{§10 key: value} of the §6.1 fields in the key file (join_uri, sec_gp and the optional ones)."""
    return {inforesp.KEYS.index(k) + 1: v for k, v in oscore_keys.info_fields(kf).items()}


class SecureServer:
    """ServerCore behind per-client OSCORE (see the module docstring); everything else is the core's
    (attribute access goes through)."""

    def __init__(self, core, contexts, pm="outer", store=None, log_rate=20):
        self.core = core
        self.contexts = contexts                      # {peer name: coap.oscoreserver.Context}
        self.by_kid = {}
        outer = _outer(pm)
        for c in contexts.values():
            c.outer = outer
            self.by_kid[c.recipient_id] = c
        self.pm_both = pm == "both"
        self.store = store
        self.bindings = OrderedDict()                 # (peer, token) -> (context, Binding)
        self.seen = OrderedDict()                     # (peer, mid) -> (expiry, plain request)
        self.sent = {}                                # (peer, mid) of CONs -> (plain, protected)
        self.out = []
        self.log_rate = log_rate
        self._log = [0, 0]
        self._m = msg.Msg()
        self.stats = dict.fromkeys(("verified", "unprotected", "rejected", "protected", "unbound"), 0)
        self.refused = {}                             # reason (coap.oscore.REASONS) -> requests refused

    def __getattr__(self, name):
        return getattr(self.core, name)

    # -------------------------------------------------------------- in
    def receive(self, data, src, now, group=None, local=None):
        core = self.core
        m = self._m
        try:
            m.decode(data)
            peer = addr.norm(src)
        except (msg.DecodeError, ValueError):
            return core.receive(data, src, now, group, local)  # the core counts it (and RSTs a CON)
        if not 1 <= m.code <= 31 or m.type > msg.NON:  # empty, responses, ACK/RST: not OSCORE requests
            return core.receive(data, src, now, group, local)
        key = (peer, m.mid)
        hit = self.seen.get(key)
        if hit is not None and hit[0] > now:  # RFC 7252 §4.5 before RFC 8613 §7.4: the core answers again
            return core.receive(hit[1], src, now, group, local)
        if m.find(cose.OSCORE) < 0:
            self.stats["unprotected"] += 1
            return self._refuse(m, peer, "not_protected", now)
        h = oscore.head(self, m, False)  # (counts a bad option here; the context's stats otherwise)
        if h is None:
            return self._refuse(m, peer, self.last, now)
        ctx = self.by_kid.get(h[3]) if h[3] is not None else None
        if ctx is None:
            return self._refuse(m, peer, "kid", now)
        got = ctx.unprotect_request(m)
        if got is None:
            return self._refuse(m, peer, ctx.stats.last, now)
        plain, b = got
        self.stats["verified"] += 1
        tok = m.token_bytes()
        self._put(self.bindings, (peer, tok), (ctx, b), BINDINGS_MAX)
        c = core.cfg
        self._put(self.seen, key, (now + (c.exchange_lifetime_ms if m.type == msg.CON else c.non_lifetime_ms),
                                   plain), SEEN_MAX)
        core.receive(plain, src, now, group, local)

    # (oscore.head counts through _no: the reasons of requests refused before any context)
    last = None

    def _no(self, reason):
        self.last = reason
        return None

    def _refuse(self, m, peer, reason, now):
        """RFC 8613 §8.2: an unprotected error response (CON: piggybacked; NON: NON), counted."""
        self.stats["rejected"] += 1
        self.refused[reason] = self.refused.get(reason, 0) + 1
        code, diag = _ERRORS.get(reason, _DECRYPT)
        tok = bytes(m.buf[4:4 + m.tkl])
        if m.type == msg.CON:
            buf = msg.encode(msg.ACK, code, m.mid, tok, (), diag.encode())
        else:
            buf = msg.encode(msg.NON, code, self.core._next_mid(), tok, (), diag.encode())
        self.out.append((buf, peer))
        sec = now // 1000
        if sec != self._log[0]:
            self._log = [sec, 0]
        self._log[1] += 1
        if self._log[1] <= self.log_rate:
            log.warning("OSCORE: request from %s:%d refused (%s): %d.%02d %s", peer[0], peer[1], reason,
                        code >> 5, code & 31, diag)

    @staticmethod
    def _put(d, k, v, cap):
        d[k] = v
        d.move_to_end(k)
        while len(d) > cap:
            d.popitem(last=False)

    # -------------------------------------------------------------- out
    def take(self):
        out = self.out
        self.out = []
        for buf, dest in self.core.take():
            if addr.is_multicast(addr.parse_ip(dest[0])) or len(buf) == 4 or buf[1] < 64:
                out.append((buf, dest))  # group-protected already (GroupSecurity); empty ACK/RST
                continue
            p = self._protect(buf, dest)
            if p is not None:
                out.append((p, dest))
        if self.store is not None:
            self.store.check()
        return out

    def _protect(self, buf, dest):
        m = self._m.decode(buf)
        tok = bytes(m.buf[4:4 + m.tkl])
        ent = self.bindings.get((dest, tok))
        if ent is None:  # never sent unprotected
            self.stats["unbound"] += 1
            log.warning("OSCORE: no request binding for a response to %s:%d (token %s): not sent",
                        dest[0], dest[1], tok.hex())
            return None
        con = m.type == msg.CON
        if con:
            prev = self.sent.get((dest, m.mid))
            if prev is not None and prev[0] == buf:  # a retransmission of the same CON: the same bytes
                return prev[1]
        ctx, b = ent
        fresh = m.observe is not None or (m.code == msg.SERVICE_UNAVAILABLE and m.cf == o.CF_INFORMATIVE)
        p = ctx.protect_response(buf, b, fresh=fresh)
        if self.pm_both:
            p = outer_copy(p, buf, o.PM)
        self.stats["protected"] += 1
        if con:
            self.sent[(dest, m.mid)] = (buf, p)
            while len(self.sent) > 4096:
                self.sent.pop(next(iter(self.sent)))
        return p

    # -------------------------------------------------------------- figures
    def security_report(self):
        g = self.core.cfg.security
        return dict(self.stats, rejected_by_reason=dict(self.refused),
                    group_protected=dict(g.counts) if isinstance(g, GroupSecurity) else None,
                    seq_writes=self.store.writes if self.store is not None else 0)

    def report(self):
        r = self.core.report()
        r["oscore"] = self.security_report()
        return r


def setup(core, keyfile, pm="outer", chunk=256):
    """Put core behind OSCORE with the server's key file: GroupSecurity as its seam, per-client
    contexts, sequence numbers in KEYFILE.seq. Returns the SecureServer (what the driver drives).
    ValueError (one line) for an unusable key file."""
    try:
        kf = oscore_keys.load(keyfile)
    except OSError as e:
        raise ValueError("%s: cannot read it (%s)" % (keyfile, e.strerror or e))
    except ValueError as e:
        raise ValueError("%s: %s" % (keyfile, e))
    if kf.get("role") != "server":
        raise ValueError("%s is the key file of %s (%s), not the server's" % (keyfile, kf.get("member"), kf.get("role")))
    store = SeqStore(keyfile + ".seq", chunk)
    sender = oscore_keys.group_sender(kf)
    store.add("group", sender)
    ctxs = oscore_keys.oscore_contexts(kf)
    for peer, c in ctxs.items():
        store.add("oscore:" + peer, c)
    store.check(force=True)
    core.cfg.security = GroupSecurity(sender, info_keys(kf), pm, store)
    g = kf["group"]
    log.info("OSCORE: group %s (Gid %s), server Sender ID %s; %d client context(s): %s; PM %s; sequence numbers "
             "in %s (group at %d)", g["name"], g["gid"].hex(), g["sender_id"].hex(), len(ctxs),
             ", ".join("%s kid %s" % (p, c.recipient_id.hex()) for p, c in ctxs.items()), pm, store.path, sender.seq)
    return SecureServer(core, ctxs, pm, store)
