# Protected group observations on the board (draft -04 §6.3, §7): the client core's security seam
# (coap.client.Client(sec=...)) over coap.oscore (the RFC 8613 context shared with the server) and
# coap.grouposcore (the group, verifying the server's group-mode messages). Loaded only with OSCORE.
#
#     sec = GroupSec(oscore.Context(**OSCORE), grouposcore.GroupContext(**GROUP_OSCORE))
#     core = client.Client(sec=sec)            # the core calls sec.attach(core)
#
# The seam (what coap.client calls):
#     protect(data, dest) -> bytes          every request the core sends (registration, re-registration,
#                                           MRFD feedback §5.1, deregistration, plain request) is OSCORE-
#                                           protected; a retransmitted CON keeps its Partial IV and
#                                           ciphertext (only class U options, e.g. an outer PM, change)
#     unprotect(Msg, src, group) -> Msg     the verified plain message, None (rejected: counted here by
#                                  | None | False   reason, the core counts dropped["security"]) or False
#                                           (being verified in steps: tick() feeds it back)
#     informative(o, r)                     §6.3.1 inside the core's §3.2 processing: r's ph_req and
#                                           last_notif become their verified plaintexts, or InfoRespError
#                                           (the core's one new registration, then withdrawal)
#     tick(now), deadline()                 the stepwise signature checks, from the core's tick()
#
# Per observation (attributes set on coap.client.Observation, only with OSCORE):
#     o.sb  the Binding of its latest request (responses and traditional notifications verify with it)
#     o.sx  (Message ID, plain, protected, dest) of its CON in flight (identical retransmissions)
#     o.gb  the Binding of the phantom request (§6.3.1: its kid, piv, kid context; .notif the latest
#           notification's PIV, RFC 8613 §7.4.1): every multicast notification verifies with it (§6.3.2)
#     o.gv  the outcome of verifying an informative response, until the core takes it: (its protected
#           ph_req, why it failed) or (protected ph_req, plain ph_req, plain last_notif, binding)
#     o.ph_prot  behind a proxy (§8): ph_req as it came, protected (what a §9 ticket request carries)
#     o.tk  behind a proxy (§9.2): the ticket request (coap.ticket.Ticket) while it is open: sent at the
#           tick after the informative response, retransmitted until the proxy's ACK, closed by the
#           first verified notification through the proxy; the proxy's unprotected error (RFC 8613
#           §8.4) or Reset to it, or no answer, ends the observation
#
# Unicast responses on a token of ours are verified with the pairwise context (RFC 8613 §8.4); an
# informative response also has its ph_req (group request: no replay check, no window update, never
# delivered, §6.3.1) and its last_notif (group response bound to it) verified before the core sees it.
# Multicast datagrams on a group observation's T are verified in group mode bound to the phantom request
# with the PIV replay check (§6.3.2); that includes the §2.5 cancellation, which our server binds to
# the phantom registration request too (tools/server/secure.py; the draft's phantom cancellation
# request never reaches a client). Unprotected or failing datagrams are never delivered.
from coap import msgcore, options, inforesp, oscore, cose
from coap.msgcore import Msg
from coap.compat import const, ticks_diff

_CON = const(0)
_NON = const(1)
_ACK = const(2)
_UNAVAILABLE = const(0xA3)
_GROUP_FLAG = const(0x20)   # in the OSCORE option's flag byte (groupcomm §4.1)
_PROXY = const(3)           # coap.client.PROXY: a group observation behind a proxy (§8)

# a verification in steps (GroupSec.jobs entries are lists with these fields)
_J_KIND = const(0)      # _NOTIF, _PH or _LAST
_J_WORK = const(1)      # the grouposcore.Pending
_J_OBS = const(2)       # the observation
_J_DATA = const(3)      # _NOTIF: -; _PH/_LAST: the plain informative response (bytes)
_J_SRC = const(4)
_J_GROUP = const(5)
_J_T = const(6)         # when it was queued (deadline(): at once)
_J_INFO = const(7)      # _PH/_LAST: [protected ph_req tim, last_notif tim, token T]
_NOTIF = const(0)
_PH = const(1)
_LAST = const(2)

PM_MODES = ("outer", "inner", "both")   # PM draft §4.5: class U, class E, or both


class Stats:
    """What GroupSec did: verified (group-mode notifications/cancellations), informative (informative
    responses whose ph_req and last_notif verified), failed_informative, fields_ignored (§6.1 fields
    without join_uri and sec_gp), busy (verifications refused: queue full), duplicates (a CON response
    again: ACKed, not verified again). Rejections by reason: GroupSec.rejects()."""

    def __init__(self):
        self.verified = 0
        self.informative = 0
        self.failed_informative = 0
        self.fields_ignored = 0
        self.busy = 0
        self.duplicates = 0
        self.unbound = 0   # a response on a token whose request was never protected here
        self.errors = 0    # a verification that raised (MemoryError): dropped

    def __repr__(self):
        return "verified=%d informative=%d failed_informative=%d fields_ignored=%d busy=%d duplicates=%d" % (
            self.verified, self.informative, self.failed_informative, self.fields_ignored, self.busy,
            self.duplicates)


def contexts(osc, grp, pm="outer"):
    """(coap.oscore.Context, coap.grouposcore.GroupContext) from the two keyword dicts of a board's
    config (OSCORE, GROUP_OSCORE: python -m tools.oscore_keys writes them). pm: where the PM option goes
    (PM draft §4.5): "outer" (class U: on-path probes measure, the default), "inner" (class E: end to end
    only) or "both" (inner, plus an outer copy for the next hop). LTMR (draft §9.1) is class U."""
    if pm not in PM_MODES:
        raise ValueError("PM with OSCORE: %r, expected one of %s" % (pm, ", ".join(PM_MODES)))
    outer = (options.LTMR, options.PM) if pm == "outer" else (options.LTMR,)
    from coap import grouposcore
    g = dict(grp)
    g["outer"] = outer
    return oscore.Context(outer=outer, **osc), grouposcore.GroupContext(**g)


def from_config(cfg, log=print):
    """A GroupSec from a board's config keys (a dict, or a module: config.py): OSCORE, GROUP_OSCORE,
    PM_OSCORE ("outer"), OSCORE_STEPS (8), OSCORE_SEQ_FILE ("oscore.seq"; None: not kept).
    ValueError (one line) when they are missing or unusable: a board configured for OSCORE never
    falls back to unprotected operation."""
    get = cfg.get if isinstance(cfg, dict) else (lambda k, d=None: getattr(cfg, k, d))
    osc = get("OSCORE")
    grp = get("GROUP_OSCORE")
    if not isinstance(osc, dict) or not isinstance(grp, dict):
        raise ValueError("OSCORE and GROUP_OSCORE must both be dicts (python -m tools.oscore_keys writes them)")
    try:
        ctx, group = contexts(osc, grp, get("PM_OSCORE", "outer"))
    except (TypeError, KeyError) as e:
        raise ValueError("OSCORE/GROUP_OSCORE: %s" % (e,))
    return GroupSec(ctx, group, name=grp.get("name"), steps=get("OSCORE_STEPS", 8), pm=get("PM_OSCORE", "outer"),
                    seq_file=get("OSCORE_SEQ_FILE", "oscore.seq"), log=log)


class GroupSec:
    """The security seam of a board client: ctx (coap.oscore.Context with the server), group
    (coap.grouposcore.GroupContext), name: the group's name (sec_gp, §6.1; None: not checked),
    steps: signature-check units per tick (None: each verification at once), max_jobs: verifications
    queued at most, pm: "outer"/"inner"/"both" as the contexts were made (contexts()), seq_file:
    where the Sender Sequence Number is kept across reboots (RFC 8613 §7.5.1, Appendix B.1.1: written
    ahead by seq_chunk numbers), log: one-line messages."""

    def __init__(self, ctx, group, name=None, steps=8, max_jobs=4, pm="outer", seq_file=None, seq_chunk=64,
                 log=print):
        self.ctx = ctx
        self.group = group
        self.name = name
        self.steps = steps
        self.max_jobs = max_jobs
        self.pm_both = pm == "both"
        self.log = log
        self.stats = Stats()
        self.core = None
        self.jobs = []
        self._m = Msg()         # the plain message handed to the core (reused)
        self._through = False   # feeding a verified datagram back into the core
        self._dups = [None] * 4  # (src, Message ID) of the last CON responses verified (RFC 7252 §4.5)
        self._dk = 0
        self.tks = []           # proxied observations with a ticket request open (§9.2; o.tk: coap.ticket.Ticket)
        self._seq_file = seq_file
        self._chunk = seq_chunk
        self._limit = -1
        if seq_file is not None:
            self._seq_load()

    def attach(self, core):
        """The client core this seam serves (a new core after a restart: what was queued is dropped)."""
        self.core = core
        self.jobs = []
        self.tks = []

    def rejects(self):
        """{reason: count} over both contexts (coap.oscore.REASONS)."""
        a = self.ctx.stats
        b = self.group.stats
        return {r: getattr(a, r) + getattr(b, r) for r in oscore.REASONS}

    def rejected(self):
        return self.ctx.stats.total() + self.group.stats.total()

    # ---------------- out ----------------

    def protect(self, data, dest):
        code = data[1]
        if code == 0 or code >= 64:  # empty ACK/RST are not OSCORE messages; the board sends no responses
            return data
        m = Msg().decode(data)
        o = self._obs(m)
        x = getattr(o, "sx", None) if o is not None else None
        if x is not None and x[0] == m.mid and x[3] == dest:  # a retransmission (RFC 7252 §4.2)
            out = x[2] if x[1] == data else self._reouter(data, x)
            o.sx = (m.mid, data, out, dest)
            return out
        out, b = self.ctx.protect_request(data)
        if self.pm_both:
            out = outer_copy(out, data, options.PM)
        self._seq_save()
        if o is not None:
            o.sb = b
            o.sx = (m.mid, data, out, dest) if m.type == _CON else None
        return out

    def _reouter(self, data, x):
        """A CON re-marked for its retransmission: the same Partial IV and ciphertext (the inner
        plaintext is unchanged) with the new class U options; an inner change keeps the old bytes."""
        outer = self.ctx.outer
        m, opts, pt, obs = oscore.split(data, outer)
        if oscore.split(x[1], outer)[2] != pt:
            return x[2]
        p = Msg().decode(x[2])
        k = p.find(cose.OSCORE)
        opt = bytes(p.buf[p.ooff[k]:p.ooff[k] + p.olen[k]])
        out = oscore.wrap(m, oscore.outer_code(True, obs), opts, opt, bytes(p.payload()))
        return outer_copy(out, data, options.PM) if self.pm_both else out

    # ---------------- in ----------------

    def unprotect(self, m, src, group):
        if self._through:
            return m
        if group is not None:
            return self._multicast(m, src, group)
        if self.tks and self._ticket_answer(m, src):
            return False
        code = m.code
        if code < 64:  # empty ACK/RST, pings, requests: not protected, the core handles them
            return m
        if m.type == _CON and self._dup(src, m.mid):  # a CON response again: ACK it, nothing more
            self.stats.duplicates += 1
            self.core.out.append((msgcore.empty(_ACK, m.mid), src))
            return False
        o = self._obs(m)
        if o is None:  # no observation or request of ours: the core drops it (or Resets it)
            return m
        if getattr(o, "gb", None) is not None and _group_mode(m):  # behind a proxy (§8/§9): the notification as it was
            return self._start(_NOTIF, self.group.start_response(m, o.gb), o, None, src, None)
        b = getattr(o, "sb", None)
        if b is None:
            self.stats.unbound += 1
            return None
        plain = self.ctx.unprotect_response(m, b)
        if plain is None:
            return None
        if m.type == _CON:
            self._remember(src, m.mid)
        p = self._m.decode(plain)
        if p.code == _UNAVAILABLE and p.cf == options.CF_INFORMATIVE:
            return self._informative_in(p, plain, o, src)
        return p

    def _multicast(self, m, src, group):
        """§6.3.2: a datagram on a group observation's T, from its server, verified bound to ph_req."""
        for o in self.core.obs:
            if getattr(o, "gb", None) is not None and m.token_is(o.token):
                if src != (o.dest if o.src is None else o.src):
                    return m  # not from SRV_ADDR:SRV_PORT: the core drops it (source), no crypto spent
                return self._start(_NOTIF, self.group.start_response(m, o.gb), o, None, src, group)
        return m  # no group observation on this token: the core drops it (token)

    def _informative_in(self, p, plain, o, src):
        """§6.3.1 steps 2-4 on a verified informative response: rebuild ph_req with T and verify it in
        group mode (no replay check, no window update), then last_notif bound to it; the core gets the
        informative response when both are done (informative() hands it the plaintexts)."""
        try:
            r = inforesp.parse(bytes(p.payload()))
            tok = o.token if o.proxied else r.token  # §8: the client's own token behind a proxy
            ph = Msg(8).decode(msgcore.from_tim(r.ph_req, tok))
        except ValueError:  # malformed: the core's §3.2 handling (it parses the same payload)
            return p
        try:
            self._fields(r)
        except ValueError as e:
            o.gv = (r.ph_req, str(e))
            return p
        if p.type == _CON and self.steps is not None:
            # verified in steps: ACK it now (its ACK must not wait for the signature checks), the
            # core gets it as a NON when they are done
            self.core.out.append((msgcore.empty(_ACK, p.mid), src))
            plain = bytes((0x40 | (_NON << 4) | p.tkl,)) + plain[1:]
        info = [r.ph_req, r.last_notif, tok]
        return self._start(_PH, self.group.start_request(ph, False), o, plain, src, None, info)

    def _fields(self, r):
        """§6.1: the group-joining fields count only with join_uri and sec_gp; without them they are
        ignored (our boards are pre-configured members, §6). A sec_gp that is not our group's name is an
        OSCORE group we are no member of (joining it is the ACE Group Manager's job: out of scope)."""
        x = r.extra
        if not x:
            return
        if "join_uri" not in x or "sec_gp" not in x:
            self.stats.fields_ignored += 1
            self.log("coapcast: informative response has %s without join_uri and sec_gp: ignored (§6.1)"
                     % ", ".join(sorted(x)))
            return
        if self.name is not None and x["sec_gp"] != self.name:
            raise inforesp.InfoRespError("OSCORE group %r is not ours (%r); join it at %s" % (
                x["sec_gp"], self.name, x["join_uri"]))

    def informative(self, o, r):
        """Called by the core's §3.2 processing with the parsed informative response r: its ph_req and
        last_notif become the verified plaintexts and o.gb the phantom request's binding; raises
        InfoRespError if they did not verify. Data the core did not get through unprotect (Appendix A.1
        join) is verified here at once."""
        v = getattr(o, "gv", None)
        o.gv = None
        j = self._joined
        if v is None and j is not None and j[0] == r.ph_req:  # join_data() verified it
            self._joined = None
            v = (r.ph_req,) + j
        if v is None or v[0] != r.ph_req:
            self._fields(r)
            v = self._verify_now(r, o.token if o.proxied else r.token)
        if len(v) == 2:
            self.stats.failed_informative += 1
            raise inforesp.InfoRespError(v[1])
        r.ph_req = v[1]
        r.last_notif = v[2]
        o.gb = v[3]
        if o.proxied:  # §9: the ticket request carries the protected phantom request as it came
            o.ph_prot = v[0]
            self._ticket(o, r)
        self.stats.informative += 1

    def join_data(self, data):
        """Appendix A.1 with Group OSCORE: an informative response's payload (e.g. from a discovery
        resource) with its protected ph_req and last_notif verified now (§6.3.1) and replaced by their
        plaintexts, for coap.client.Client.join() (its options then come from the plain phantom request;
        informative() takes the binding). ValueError when they do not verify."""
        r = inforesp.parse(data)
        self._fields(r)
        v = self._verify_now(r, r.token)
        if len(v) == 2:
            self.stats.failed_informative += 1
            raise inforesp.InfoRespError(v[1])
        self._joined = v[1:]
        from coap import inforespenc  # (only for a join with OSCORE)
        extra = {}
        for k in r.extra:
            extra[inforesp.KEYS.index(k) + 1] = r.extra[k]
        return inforespenc.build(v[1], v[2], r.token, r.srv_addr, r.srv_port, r.cli_addr,
                                 None if r.cli_port == 5683 else r.cli_port, extra)

    _joined = None

    def _verify_now(self, r, tok):
        g = self.group
        try:
            w = g.start_request(Msg(8).decode(msgcore.from_tim(r.ph_req, tok)), False)
            got = w.run() if w is not None else None
            if got is None:
                return r.ph_req, "ph_req failed verification (%s)" % g.stats.last
            w = g.start_response(Msg().decode(msgcore.from_tim(r.last_notif, tok)), got[1])
            last = w.run() if w is not None else None
        except ValueError as e:
            return r.ph_req, "malformed (%s)" % (e,)
        if last is None:
            return r.ph_req, "last_notif failed verification (%s)" % g.stats.last
        return r.ph_req, _tim(got[0]), _tim(last), got[1]

    # ---------------- verification in steps ----------------

    def _start(self, kind, w, o, data, src, group, info=None):
        """A group-mode verification that decrypted (w: grouposcore.Pending; None: rejected, counted):
        finished at once (steps None: the result for unprotect()) or queued for tick() (False)."""
        job = [kind, w, o, data, src, group, self._now, info]
        if w is None:
            if kind == _NOTIF:
                return None
            self._done(job, False, self._now)
            return self._m.decode(job[_J_DATA])  # never queued: the core's handling now
        if self.steps is None:
            while True:
                r = job[_J_WORK].step(1 << 20)
                if r is not None:
                    nxt = self._done(job, r, self._now)
                    if nxt is None:
                        d = job[_J_DATA]
                        return None if d is None else self._m.decode(d)
                    job = nxt
        if len(self.jobs) >= self.max_jobs:
            self.stats.busy += 1
            return None
        self.jobs.append(job)
        return False

    _now = 0  # the time of the last tick(): the queue time of new jobs (deadline() then says "at once")

    def deadline(self):
        """When tick() has verification work: the oldest job's queue time (so: at once), or None; or
        a ticket request is due (§9.2)."""
        d = self.jobs[0][_J_T] if self.jobs else None
        for o in self.tks:
            tk = o.tk
            if not tk.acked and (d is None or ticks_diff(tk.due, d) < 0):
                d = tk.due
        return d

    def tick(self, now):
        """Run the head job `steps` units; a finished one is fed back into the core."""
        self._now = now
        if self.tks:
            self._tickets(now)
        if not self.jobs:
            return
        job = self.jobs[0]
        why = None
        try:
            r = job[_J_WORK].step(self.steps)
        except Exception as e:  # (MemoryError on a fragmented heap): this one is lost, counted; the loop goes on
            self.stats.errors += 1
            why = type(e).__name__
            self.log("coapcast: signature check failed: %r" % (e,))
            r = False
        if r is None:
            return
        self.jobs.pop(0)
        nxt = self._done(job, r, now, why)
        if nxt is not None:
            self.jobs.insert(0, nxt)
        elif job[_J_DATA] is None:
            self.core.stats.dropped["security"] += 1  # as if dropped when it came in (reason: .rejects())
        else:
            self._feed(job[_J_DATA], job[_J_SRC], job[_J_GROUP], now)

    def _done(self, job, r, now, why=None):
        """A finished verification (r: its result, False: rejected). Sets job[_J_DATA] to the plain
        datagram for the core (None: nothing), or returns the next job (last_notif after ph_req)."""
        kind = job[_J_KIND]
        if kind == _NOTIF:
            if r is False:
                job[_J_DATA] = None
            else:
                self.stats.verified += 1
                if self.tks and job[_J_GROUP] is None and job[_J_OBS] in self.tks:
                    self._ticket_done(job[_J_OBS])  # the proxy listens: the ticket request is answered
                job[_J_DATA] = r
            return None
        o = job[_J_OBS]
        info = job[_J_INFO]
        what = "ph_req" if kind == _PH else "last_notif"
        if r is not False and kind == _PH:
            plain, b = r
            info.append(_tim(plain))
            info.append(b)
            try:
                lm = Msg().decode(msgcore.from_tim(info[1], info[2]))
            except ValueError as e:
                o.gv = (info[0], "malformed last_notif (%s)" % (e,))
                return None
            w = self.group.start_response(lm, b)
            if w is not None:
                return [_LAST, w, o, job[_J_DATA], job[_J_SRC], None, now, info]
            what = "last_notif"
            r = False
        if r is False:
            o.gv = (info[0], "%s failed verification (%s)" % (what, why or self.group.stats.last))
        else:  # protected ph_req (to match the core's parse), plain ph_req, plain last_notif, binding
            o.gv = (info[0], info[3], _tim(r), info[4])
        return None  # job[_J_DATA]: the informative response, whatever the outcome (informative() tells)

    def _feed(self, data, src, group, now):
        core = self.core
        core.stats.received -= 1  # counted when it came in
        self._through = True
        try:
            core.receive(data, src, now, group)
        finally:
            self._through = False

    # ---------------- the ticket request (§9.2, behind a proxy) ----------------

    def _ticket(self, o, r):
        """The core is accepting r, a verified informative response through a proxy: the ticket request
        for it (coap.ticket), sent at the next tick() once the core is done (o in state PROXY)."""
        from coap import ticket  # (only behind a proxy)
        core = self.core
        tok = core._new_token()
        try:
            data = ticket.build(o.ph_prot, r, o.opts, tok, core._next_mid())
        except ValueError as e:  # (the core's §3.2 processing rejects the same ph_req)
            self.log("coapcast: no ticket request (%s)" % (e,))
            return
        o.tk = ticket.Ticket(data, tok, (data[2] << 8) | data[3], self._now)
        if o not in self.tks:
            self.tks.append(o)

    def _tickets(self, now):
        core = self.core
        for o in list(self.tks):
            if o.state != _PROXY or o not in core.obs:  # re-registering, or ended
                self._ticket_done(o)
                continue
            tk = o.tk
            data = tk.step(core, now)
            if data is not None:
                if tk.tries == 0:
                    o.token = tk.token  # its own token (Appendix D: 0x4b): the proxy's notifications come on it
                core.out.append((data, o.dest))
            elif tk.tries > core.max_retransmit:
                self._ticket_done(o)
                core._end(o, "ticket request: no answer from the proxy")

    def _ticket_answer(self, m, src):
        """The proxy's own answer to an open ticket request: its empty ACK (the proxy listens), a Reset,
        or an unprotected error response (RFC 8613 §8.4: from the proxy, not the server; the
        observation ends with it). True if m was one (consumed)."""
        for o in self.tks:
            tk = o.tk
            if src != o.dest or tk.tries < 0:
                continue
            code = m.code
            mine = m.type >= _ACK and m.mid == tk.mid
            if code == 0:
                if not mine:
                    continue
                if m.type == _ACK:
                    tk.acked = True
                else:
                    self._ticket_done(o)
                    self.core._end(o, "ticket request reset by the proxy")
                return True
            if code < 64 or not m.token_is(tk.token):
                continue
            if mine:
                tk.acked = True
            if code < 0x80 or m.find(cose.OSCORE) >= 0:
                return False  # protected: verified as a notification through the proxy
            if m.type == _CON:
                self.core.out.append((msgcore.empty(_ACK, m.mid), src))
            why = "ticket request refused by the proxy: %d.%02d" % (code >> 5, code & 31)
            if m.has_payload():
                try:
                    why += " " + bytes(m.payload()).decode()
                except UnicodeError:
                    pass
            self.log("coapcast: " + why)
            self._ticket_done(o)
            self.core._end(o, why)
            return True
        return False

    def _ticket_done(self, o):
        if o in self.tks:
            self.tks.remove(o)
        o.tk = None

    # ---------------- helpers ----------------

    def _obs(self, m):
        for o in self.core.obs:
            if m.token_is(o.token):
                return o
        return None

    def _dup(self, src, mid):
        for d in self._dups:
            if d is not None and d[1] == mid and d[0] == src:
                return True
        return False

    def _remember(self, src, mid):
        self._dups[self._dk] = (src, mid)
        self._dk = (self._dk + 1) & 3

    def _seq_load(self):
        try:
            with open(self._seq_file) as f:
                s = int(f.read())
        except (OSError, ValueError):
            s = 0
        if s > self.ctx.seq:  # the stored value is above any number used before the reboot
            self.ctx.seq = s
        self._seq_save(True)

    def _seq_save(self, force=False):
        if self._seq_file is None or (not force and self.ctx.seq < self._limit):
            return
        self._limit = self.ctx.seq + self._chunk
        try:
            with open(self._seq_file, "w") as f:
                f.write(str(self._limit))
        except OSError as e:
            self.log("coapcast: cannot store the OSCORE sequence number: %r" % (e,))


def _group_mode(m):
    k = m.find(cose.OSCORE)
    return k >= 0 and m.olen[k] > 0 and m.buf[m.ooff[k]] & _GROUP_FLAG != 0


def _tim(plain):
    """The transport-independent information (§2.2.1) of a plain datagram: code | options | payload."""
    tkl = plain[0] & 15
    return plain[1:2] + plain[4 + tkl:]


def outer_copy(protected, plain, num):
    """PM draft §4.5 "both": the protected datagram (option num inside, class E) with the plain
    message's value of num also as an outer option (for the next hop); unchanged without it."""
    p = Msg().decode(plain)
    k = p.find(num)
    if k < 0:
        return protected
    v = bytes(p.buf[p.ooff[k]:p.ooff[k] + p.olen[k]])
    q = Msg().decode(protected)
    return msgcore.encode(q.type, q.code, q.mid, bytes(q.buf[4:4 + q.tkl]), q.items() + [(num, v)],
                          q.payload())
