# OSCORE (RFC 8613) on whole datagrams, the client's half (what a board loads): security context
# derivation (§3.2), protection of requests (§8.1), verification of responses (§8.4) with the
# notification freshness rule (§7.4.1), the option classes (§4.1), and the message handling Group OSCORE
# (coap.grouposcore) reuses. Verifying requests with the replay window and protecting responses is
# coap.oscoreserver (the server's). Loaded only when a board is configured for OSCORE.
#
# Inputs and outputs: protect_* take a plain datagram (bytes) and return the protected datagram
# (bytes); unprotect_* take a decoded coap.msgcore.Msg and return the plain datagram (bytes), or
# None when verification failed -- the reason is counted in .stats (Rejects), nothing of the
# message is returned, and no exception escapes for any input. A Binding ties a response to its
# request (request_kid, request_piv, request_kid_context) and carries an observation's
# Notification Number.
from coap.compat import const
from coap import msgcore, cose, ccm
from coap.msgcore import Msg, DecodeError
from coap.hkdf import hkdf as _hkdf

_POST = const(0x02)
_FETCH = const(0x05)
_CHANGED = const(0x44)
_CONTENT = const(0x45)
_OBSERVE = const(6)
_PROXY_URI = const(35)
MAX_SEQ = 0xFFFFFFFFFF  # 2**40 - 1: the Partial IV is at most 5 bytes (§7.2.1)

# Class U options (§4.1.2, Figure 5): Uri-Host, Uri-Port, Proxy-Scheme (Proxy-Uri is decomposed into
# these on protect, §4.1.3.3); Observe is both E and U (§4.1.3.5); everything else is class E unless
# a context is given more outer option numbers (e.g. the draft's LTMR §9.1, coap-pm's PM §4.5).
OUTER = (3, 7, 39)

# Why a message was rejected (the attribute names of Rejects):
REASONS = ("not_protected",  # no OSCORE option
           "option",         # malformed or truncated OSCORE option (§6.1)
           "mode",           # group flag where none is expected, or missing where it is
           "kid",            # no or unknown kid (no recipient context)
           "kid_context",    # kid context that is not this context's ID Context
           "piv",            # a request without Partial IV
           "replay",         # replayed or too old Partial IV (§7.4), stale notification (§7.4.1)
           "short",          # ciphertext shorter than tag (+ signature) + code
           "tag",            # AEAD verification failed (wrong key, algorithm, AAD, nonce, data)
           "signature",      # group-mode signature did not verify
           "plaintext")      # verified plaintext is not a valid CoAP code/options/payload


class Rejects:
    """Counters of rejected messages, one attribute per reason in REASONS; .last is the last reason."""

    def __init__(self):
        for r in REASONS:
            setattr(self, r, 0)
        self.last = None

    def count(self, reason):
        setattr(self, reason, getattr(self, reason) + 1)
        self.last = reason

    def total(self):
        return sum(getattr(self, r) for r in REASONS)

    def as_dict(self):
        return {r: getattr(self, r) for r in REASONS}


class Binding:
    """Request identifiers for the response (§5.4 request_kid/request_piv, groupcomm-23 §4.3
    request_kid_context); reuse: a response may still take the request's nonce (once, §8.3);
    notif: the Notification Number of an observation (§7.4.1), -1 before the first notification."""

    def __init__(self, kid, piv, kid_context=None, reuse=False):
        self.kid = kid
        self.piv = piv
        self.kid_context = kid_context
        self.reuse = reuse
        self.notif = -1


def derive(salt, secret, id_, id_context, alg, typ, n):
    """One HKDF output of the context derivation (§3.2.1)."""
    return _hkdf(salt, secret, cose.kdf_info(id_, id_context, alg, typ, n), n)


def check_algs(alg_aead, hkdf):
    if alg_aead != cose.AES_CCM_16_64_128:
        raise ValueError("unsupported AEAD algorithm %r (this profile: 10, AES-CCM-16-64-128)" % (alg_aead,))
    if hkdf != cose.HKDF_SHA256:
        raise ValueError("unsupported HKDF %r (this profile: -10, HKDF SHA-256)" % (hkdf,))


def split(data, outer_nums):
    """Plain datagram -> (Msg, outer options, plaintext, has Observe) (§4.1, §5.3): class U options go
    outer, Observe goes both ways, the rest inner; plaintext = code | inner options | 0xFF payload."""
    m = Msg().decode(data)
    outer = []
    inner = []
    obs = False
    buf = m.buf
    for k in range(m.nopt):
        num = m.onum[k]
        v = bytes(buf[m.ooff[k]:m.ooff[k] + m.olen[k]])
        if num == cose.OSCORE:
            raise ValueError("message is already OSCORE-protected")
        if num == _OBSERVE:
            obs = True
            inner.append((num, v))
            outer.append((num, v))
        elif num == _PROXY_URI:  # §4.1.3.3: scheme, host, port outer; path and query inner
            from coap import uri
            host, port, po = uri.parse(v.decode())
            outer.append((39, b"coap"))
            outer.append((3, host))
            if port != 5683:
                outer.append((7, port))
            inner += po
        elif num in outer_nums:
            outer.append((num, v))
        else:
            inner.append((num, v))
    pt = bytearray((m.code,))
    msgcore.encode_options(inner, pt)
    if m.has_payload():
        pt.append(0xFF)
        pt += m.payload()
    return m, outer, bytes(pt), obs


def wrap(m, code, outer, opt, payload):
    """The protected datagram: m's type, message ID and token, the outer code and options, the
    OSCORE option and the ciphertext as payload."""
    outer.append((cose.OSCORE, opt))
    return msgcore.encode(m.type, code, m.mid, m.buf[4:4 + m.tkl], outer, payload)


def outer_of(m, outer_nums):
    """What the plain message keeps of the protected one: (type, message ID, token, class U options)."""
    keep = []
    buf = m.buf
    for k in range(m.nopt):
        if m.onum[k] in outer_nums:
            keep.append((m.onum[k], bytes(buf[m.ooff[k]:m.ooff[k] + m.olen[k]])))
    return m.type, m.mid, bytes(buf[4:4 + m.tkl]), keep


def rebuild(outer, pt, request):
    """The plain datagram after verification (§8.2 step 7, §8.4) from outer_of(m) and the plaintext:
    the outer header and token, the decrypted code and inner options and payload (the plaintext's
    option encoding is already a message's), merged with the class U options if there are any. The
    inner Observe (authenticated) is the one kept. Raises DecodeError for a malformed plaintext."""
    t, mid, tok, opts = outer
    buf = bytes((0x40 | (t << 4) | len(tok), pt[0], mid >> 8, mid & 0xFF)) + tok + pt[1:]
    m = Msg().decode(buf)
    c = m.code
    if (1 <= c <= 31) != request or c == 0 or m.find(cose.OSCORE) >= 0:
        raise DecodeError("inner code or options not valid here")
    if opts:
        return msgcore.encode(t, c, mid, tok, opts + m.items(), m.payload())
    return buf


def head(ctx, m, group):
    """(raw OSCORE option value, piv, kid context, kid) of a message with a well-formed OSCORE option
    of the expected mode (group: the Group Flag set), or None, the reason counted on ctx."""
    k = m.find(cose.OSCORE)
    if k < 0:
        return ctx._no("not_protected")
    raw = bytes(m.buf[m.ooff[k]:m.ooff[k] + m.olen[k]])
    try:
        piv, kc, kid, g = cose.parse_option(raw)
    except DecodeError:
        return ctx._no("option")
    if g != group:
        return ctx._no("mode")
    return raw, piv, kc, kid


def outer_code(request, obs):
    """The outer code (§4.2): FETCH/POST for a request with/without Observe, 2.05/2.04 for a response."""
    if request:
        return _FETCH if obs else _POST
    return _CONTENT if obs else _CHANGED


class Sender:
    """The Sender Sequence Number of a sender context (§3.1, §7.2.1)."""
    seq = 0

    def next_piv(self):
        """Consume a Sender Sequence Number -> its Partial IV; ValueError when exhausted."""
        s = self.seq
        if s > MAX_SEQ:
            raise ValueError("Sender Sequence Number exhausted: a new Security Context is needed")
        self.seq = s + 1
        return cose.piv_bytes(s)


class Context(Sender):
    """An OSCORE Security Context (§3): Common, Sender and Recipient Context from the master secret
    and salt, the two IDs and the optional ID Context. seq is the Sender Sequence Number (persist it
    across reboots as §7.5 says: a restarted sender must not reuse numbers); outer: extra class U
    option numbers. The keywords are the key file's (tools/oscore_keys.py): Context(**config.OSCORE)."""

    def __init__(self, master_secret, sender_id, recipient_id, master_salt=b"", id_context=None,
                 alg_aead=10, hkdf=-10, seq=0, outer=(), send_kid_context=True):
        check_algs(alg_aead, hkdf)
        if len(sender_id) > cose.NONCE_LEN - 6 or len(recipient_id) > cose.NONCE_LEN - 6:
            raise ValueError("Sender/Recipient ID longer than 7 bytes")
        if sender_id == recipient_id:
            raise ValueError("Sender ID and Recipient ID must differ")
        self.alg = alg_aead
        self.sender_id = sender_id
        self.recipient_id = recipient_id
        self.id_context = id_context
        self.sender_key = derive(master_salt, master_secret, sender_id, id_context, alg_aead, "Key", cose.KEY_LEN)
        self.recipient_key = derive(master_salt, master_secret, recipient_id, id_context, alg_aead, "Key",
                                    cose.KEY_LEN)
        self.common_iv = derive(master_salt, master_secret, b"", id_context, alg_aead, "IV", cose.NONCE_LEN)
        self.seq = seq
        self.outer = OUTER + tuple(outer)
        self.send_kid_context = send_kid_context
        self.stats = Rejects()

    # --- protect (§8.1, §8.3) ---
    def protect_request(self, data):
        """Plain request datagram -> (protected datagram, Binding for its response)."""
        m, outer, pt, obs = split(data, self.outer)
        piv = self.next_piv()
        ctx = self.id_context if self.send_kid_context else None
        opt = cose.option(piv, ctx, self.sender_id)
        ext = cose.aad(self.alg, self.sender_id, piv)
        ct = ccm.encrypt(self.sender_key, cose.nonce(self.common_iv, self.sender_id, piv), cose.enc_structure(ext), pt)
        return wrap(m, outer_code(True, obs), outer, opt, ct), Binding(self.sender_id, piv, self.id_context)

    # --- verify (§8.2, §8.4) ---
    def _no(self, reason):
        self.stats.count(reason)
        return None

    def unprotect_response(self, m, binding):
        """Verify a response to the request of binding -> plain datagram or None. A response with its
        own Partial IV (a notification, §4.1.3.5.2) must be newer than the binding's Notification
        Number (§7.4.1), which it then becomes; the check does not trust the outer Observe."""
        h = head(self, m, False)
        if h is None:
            return None
        raw, piv, ctx, kid = h
        if kid is not None and kid != self.recipient_id:
            return self._no("kid")
        if ctx is not None and ctx != self.id_context:
            return self._no("kid_context")
        if piv is None:
            return self._open(m, binding.kid, binding.piv, binding.kid, binding.piv, False)
        seq = int.from_bytes(piv, "big")
        if seq <= binding.notif:
            return self._no("replay")
        plain = self._open(m, self.recipient_id, piv, binding.kid, binding.piv, False)
        if plain is not None:
            binding.notif = seq
        return plain

    def _open(self, m, id_piv, piv, req_kid, req_piv, request):
        ct = m.payload()
        if len(ct) < cose.TAG_LEN + 1:
            return self._no("short")
        ext = cose.aad(self.alg, req_kid, req_piv)
        pt = ccm.decrypt(self.recipient_key, cose.nonce(self.common_iv, id_piv, piv), cose.enc_structure(ext), ct)
        if pt is None:
            return self._no("tag")
        try:
            return rebuild(outer_of(m, self.outer), pt, request)
        except DecodeError:
            return self._no("plaintext")
