# Group OSCORE group mode, the verifying side (draft-ietf-core-oscore-groupcomm-23 as aiocoap 0.4.17
# implements it; draft -04 of the multicast-notifications draft cites groupcomm-10, see README):
# the Common Context (Common IV, Signature Encryption Key), one recipient context per group member
# keyed by its Sender ID (kid), and the verification of group-mode requests (the draft's phantom
# request, §6.3.1) and responses (multicast notifications bound to it, §6.3.2). Same inputs, outputs
# and reasons as coap.oscore; signature checks go through one seam, the verifier factory
# (default: coap.sigverify.verifier(alg, public_key) -> object with verify(msg, sig) -> bool, its
# per-key precomputation done once per recipient context here).
from coap import cose, ccm
from coap.msgcore import DecodeError
from coap.hkdf import hkdf as _hkdf
from coap.oscore import Rejects, Binding, derive, check_algs, head, outer_of, rebuild, OUTER


class Recipient:
    """A Recipient Context (groupcomm-23 §2.1.3): key, authentication credential (its CCS, which
    goes into the external_aad), the signature verifier for its public key, and the replay window,
    made on the first replay-checked request (a board checks none: RAM)."""

    def __init__(self, kid, key, cred, verifier):
        self.kid = kid
        self.key = key
        self.cred = cred
        self.verifier = verifier
        self.window = None

    def replay_window(self, size):
        if self.window is None:
            from coap.oscoreserver import ReplayWindow
            self.window = ReplayWindow(size)
        return self.window


class GroupContext:
    """The group as one member sees it. members: {Sender ID: CCS credential} of the members whose
    group-mode messages this context verifies (the server's, on a board). The keywords are the key
    file's (tools/oscore_keys.py), so a board does GroupContext(**config.GROUP_OSCORE)."""

    def __init__(self, gid, master_secret, members, master_salt=b"", sender_id=None, alg_aead=10,
                 alg_group_enc=10, alg_signature=-8, alg_pairwise_key_agreement=None, gm_cred=None, hkdf=-10,
                 window=32, verifier=None, outer=(), **_ignored):
        check_algs(alg_aead, hkdf)
        check_algs(alg_group_enc, hkdf)
        if alg_signature not in (cose.EDDSA, cose.ES256):
            raise ValueError("unsupported signature algorithm %r (this profile: -8 EdDSA, -7 ES256)" % (alg_signature,))
        self.gid = gid
        self.sender_id = sender_id
        self.algs = [alg_aead, alg_group_enc, alg_signature, alg_pairwise_key_agreement]
        self.gm_cred = gm_cred
        self._salt = master_salt
        self._secret = master_secret
        # groupcomm-23 §2.1.4, §2.1.6 (aiocoap: the info's alg is the Group Encryption Algorithm)
        self.common_iv = derive(master_salt, master_secret, b"", gid, alg_group_enc, "IV", cose.NONCE_LEN)
        self.sekey = derive(master_salt, master_secret, b"", gid, alg_group_enc, "SEKey", cose.KEY_LEN)
        self.window = window
        self.outer = OUTER + tuple(outer)
        if verifier is None:
            from coap import sigverify
            verifier = sigverify.verifier
        self.verifier = verifier
        self.recipients = {}
        self.stats = Rejects()
        for kid, cred in members.items():
            if kid != sender_id:
                self.add_member(kid, cred)

    def key_for(self, id_):
        """Sender/Recipient Key of a member (groupcomm-23 §2.1.3: derived for the Group Encryption
        Algorithm in group mode)."""
        return derive(self._salt, self._secret, id_, self.gid, self.algs[1], "Key", cose.KEY_LEN)

    def add_member(self, kid, cred):
        """Create the recipient context of a member from its credential (the verifier's per-key
        precomputation happens here, once). Raises ValueError for an unusable credential."""
        if len(kid) > cose.NONCE_LEN - 6:
            raise ValueError("Sender ID longer than 7 bytes")
        alg, pub = cose.ccs_key(cred)
        if alg != self.algs[2]:
            raise ValueError("credential of %s is not for the group's signature algorithm" % kid.hex())
        self.recipients[kid] = Recipient(kid, self.key_for(kid), cred, self.verifier(alg, pub))

    def keystream(self, id_piv, piv, request):
        """The signature keystream (groupcomm-23 §4.5 as aiocoap derives it): HKDF(salt = Partial IV,
        IKM = Signature Encryption Key, info = [ID_PIV, Gid, request?, 64], 64)."""
        return _hkdf(piv, self.sekey, cose.keystream_info(id_piv, self.gid, request, cose.SIG_LEN), cose.SIG_LEN)

    # --- verify (groupcomm-23 §8.2, §8.4) ---
    def _no(self, reason):
        self.stats.count(reason)
        return None

    def unprotect_request(self, m, replay=True):
        """Verify a group-mode request -> (plain datagram, Binding) or None. replay=False: no replay
        check and no window update (draft -04 §6.3.1, the rebuilt phantom request)."""
        w = self.start_request(m, replay)
        return None if w is None else w.run()

    def unprotect_response(self, m, binding):
        """Verify a group-mode response to the request of binding -> plain datagram or None; with its
        own Partial IV it must be newer than binding's Notification Number (RFC 8613 §7.4.1)."""
        w = self.start_response(m, binding)
        return None if w is None else w.run()

    def start_request(self, m, replay=True):
        """unprotect_request in steps: None (rejected, counted) or a Pending (see Pending.step)."""
        got = self._head(m)
        if got is None:
            return None
        raw, piv, ctx, r = got
        if ctx is None:
            return self._no("kid_context")  # a group request names its group (groupcomm-23 §4.2)
        if piv is None:
            return self._no("piv")
        seq = int.from_bytes(piv, "big")
        if replay and not r.replay_window(self.window).valid(seq):
            return self._no("replay")
        return self._open(m, raw, r, r.kid, piv, r.kid, piv, Binding(r.kid, piv, ctx), seq if replay else -1, True)

    def start_response(self, m, binding):
        """unprotect_response in steps: None (rejected, counted) or a Pending (see Pending.step)."""
        got = self._head(m)
        if got is None:
            return None
        raw, piv, ctx, r = got
        if binding.kid_context is not None and binding.kid_context != self.gid:
            return self._no("kid_context")
        if piv is None:
            return self._open(m, raw, r, binding.kid, binding.piv, binding.kid, binding.piv, binding, -1, False)
        seq = int.from_bytes(piv, "big")
        if seq <= binding.notif:
            return self._no("replay")
        return self._open(m, raw, r, r.kid, piv, binding.kid, binding.piv, binding, seq, False)

    def _head(self, m):
        """(raw option, piv, kid context, Recipient) of a group-mode message, or None (counted)."""
        h = head(self, m, True)
        if h is None:
            return None
        raw, piv, ctx, kid = h
        r = self.recipients.get(kid) if kid is not None else None
        if r is None:
            return self._no("kid")
        if ctx is not None and ctx != self.gid:
            return self._no("kid_context")
        return raw, piv, ctx, r

    def _open(self, m, raw, r, id_piv, piv, req_kid, req_piv, binding, seq, request):
        """Decrypt first (cheap: garbage and forgeries by non-members stop here), then hand the
        signature check to a Pending; nothing is delivered before both pass."""
        pl = m.payload()
        n = len(pl) - cose.SIG_LEN
        if n < cose.TAG_LEN + 1:
            return self._no("short")
        ct = pl[:n]
        ext = cose.aad_group(self.algs, req_kid, req_piv, self.gid, raw, r.cred, self.gm_cred)
        pt = ccm.decrypt(r.key, cose.nonce(self.common_iv, id_piv, piv), cose.enc_structure(ext), ct)
        if pt is None:
            return self._no("tag")
        sig = ccm.xor(pl[n:], self.keystream(id_piv, piv, request), cose.SIG_LEN)
        tbs = cose.to_be_signed(ext, ct)
        v = r.verifier
        job = v.start(tbs, sig) if hasattr(v, "start") else _Done(v.verify(tbs, sig))
        return Pending(self, outer_of(m, self.outer), pt, r, binding, seq, request, job)


class _Done:
    """A finished signature check, for verifiers without a stepwise start()."""

    def __init__(self, ok):
        self.ok = ok is True

    def step(self, n=1):
        return self.ok


class Pending:
    """A group-mode message that decrypted, awaiting its signature check (groupcomm-23 §8.2, §8.4).
    step(n) advances the verifier by at most n units (coap.sigverify's job steps) and returns None
    while it runs, then the result: the plain datagram ((plain, Binding) for a request), or False
    when rejected (counted). run() finishes at once and returns the result or None."""

    def __init__(self, ctx, outer, pt, r, binding, seq, request, job):
        self.ctx = ctx
        self.outer = outer  # what is kept of the datagram: the caller may reuse its Msg meanwhile
        self.pt = pt
        self.r = r
        self.binding = binding
        self.seq = seq
        self.request = request
        self.job = job
        self.result = None

    def step(self, n=1):
        if self.result is None:
            ok = self.job.step(n)
            if ok is not None:
                self.result = self._finish(ok)
        return self.result

    def run(self):
        r = None
        while r is None:
            r = self.step(1 << 20)
        return r or None

    def _finish(self, ok):
        ctx = self.ctx
        if ok is not True:
            ctx.stats.count("signature")
            return False
        try:
            plain = rebuild(self.outer, self.pt, self.request)
        except DecodeError:
            ctx.stats.count("plaintext")
            return False
        seq = self.seq
        if self.request:
            if seq >= 0:
                w = self.r.window
                if not w.valid(seq):  # accepted meanwhile by another verification
                    ctx.stats.count("replay")
                    return False
                w.accept(seq)
            return plain, self.binding
        if seq >= 0:
            if seq <= self.binding.notif:  # a newer notification finished first
                ctx.stats.count("replay")
                return False
            self.binding.notif = seq
        return plain
