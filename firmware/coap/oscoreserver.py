# OSCORE (RFC 8613), the half a board does not load: verifying requests (§8.2) with the replay window
# (§7.4) and protecting responses (§8.3). The server and the tools use coap.oscoreserver.Context (all of
# coap.oscore.Context and these); a board, a client only, protects requests and verifies responses with
# coap.oscore alone (RAM). Group OSCORE's replay-checked requests use ReplayWindow too.
from coap import cose, ccm, oscore
from coap.oscore import Binding, head, outer_code, split, wrap


class ReplayWindow:
    """Sliding replay window of `size` sequence numbers (§7.4): top is the highest accepted, bit d of
    bits means top - d was accepted."""

    def __init__(self, size=32):
        self.size = size
        self.top = -1
        self.bits = 0

    def valid(self, seq):
        d = self.top - seq
        return d < 0 or (d < self.size and not (self.bits >> d) & 1)

    def accept(self, seq):
        d = self.top - seq
        if d < 0:
            self.bits = ((self.bits << -d) | 1) & ((1 << self.size) - 1)
            self.top = seq
        else:
            self.bits |= 1 << d


class Context(oscore.Context):
    """An OSCORE Security Context that also answers requests: coap.oscore.Context plus the Recipient
    Context's replay window of `window` sequence numbers."""

    def __init__(self, *args, window=32, **kw):
        super().__init__(*args, **kw)
        self.window = ReplayWindow(window)

    def protect_response(self, data, binding, fresh=False):
        """Plain response datagram -> protected datagram. The first response to a request reuses its
        nonce unless fresh=True; later ones (notifications) always take a fresh Partial IV."""
        m, outer, pt, obs = split(data, self.outer)
        if fresh or not binding.reuse:
            piv = self.next_piv()
            n = cose.nonce(self.common_iv, self.sender_id, piv)
        else:
            piv = None
            n = cose.nonce(self.common_iv, binding.kid, binding.piv)
        binding.reuse = False
        ext = cose.aad(self.alg, binding.kid, binding.piv)
        ct = ccm.encrypt(self.sender_key, n, cose.enc_structure(ext), pt)
        return wrap(m, outer_code(False, obs), outer, cose.option(piv), ct)

    def unprotect_request(self, m, replay=True):
        """Verify a request -> (plain datagram, Binding) or None. replay=False skips the replay check
        and leaves the window alone (draft -04 §6.3.1 for a rebuilt phantom request)."""
        h = head(self, m, False)
        if h is None:
            return None
        raw, piv, ctx, kid = h
        if kid is None or kid != self.recipient_id:
            return self._no("kid")
        if ctx is not None and ctx != self.id_context:
            return self._no("kid_context")
        if piv is None:
            return self._no("piv")
        seq = int.from_bytes(piv, "big")
        if replay and not self.window.valid(seq):
            return self._no("replay")
        plain = self._open(m, kid, piv, kid, piv, True)
        if plain is not None:
            if replay:
                self.window.accept(seq)
            return plain, Binding(kid, piv, ctx, reuse=replay)
        return None
