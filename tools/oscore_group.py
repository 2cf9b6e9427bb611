"""Group OSCORE group mode, the protecting side (the server; CPython): a Group OSCORE Sender Context
that encrypts, signs with `cryptography` and encrypts the signature (draft-ietf-core-oscore-groupcomm-23
§8.1, §8.3 as aiocoap 0.4.17 does). Everything that is not signing is the firmware's
(coap.grouposcore, coap.oscore, coap.cose, coap.ccm): the server verifies members' group-mode
messages with the same code a board runs.

    s = GroupSender(private_key=..., sender_cred=..., **group)   # group: GroupContext keywords
    ph, binding = s.protect_request(phantom_request_datagram)    # draft -04 §6.2.1
    notif = s.protect_response(notification_datagram, binding)   # §6.2.3: fresh PIV, bound to ph

crypto_verifier(alg, public_key) is the `cryptography` implementation of the board's verifier seam
(coap.sigverify.verifier): the server's default, and the tests' stand-in.
"""
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from coap import ccm, cose, oscore
from coap.grouposcore import GroupContext
from coap.oscore import Binding


class _Ed25519Verifier:
    def __init__(self, pub):
        self.key = ed25519.Ed25519PublicKey.from_public_bytes(bytes(pub))

    def verify(self, msg, sig):
        try:
            self.key.verify(bytes(sig), bytes(msg))
            return True
        except InvalidSignature:
            return False


class _ES256Verifier:
    def __init__(self, pub):
        self.key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), bytes(pub))

    def verify(self, msg, sig):
        sig = bytes(sig)
        r, s = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
        try:
            self.key.verify(encode_dss_signature(r, s), bytes(msg), ec.ECDSA(hashes.SHA256()))
            return True
        except (InvalidSignature, ValueError):
            return False


def crypto_verifier(alg, pub):
    """Verifier for alg (-8 Ed25519: 32-byte key; -7 ES256: 65-byte SEC1 04|x|y), the same interface
    as coap.sigverify.verifier."""
    if alg == cose.EDDSA:
        return _Ed25519Verifier(pub)
    if alg == cose.ES256:
        return _ES256Verifier(pub)
    raise ValueError("unsupported signature algorithm %r" % (alg,))


def signer(alg, private_key):
    """sign(msg) -> 64-byte signature, and the public key bytes, for a raw private key (Ed25519
    32-byte seed, or P-256 32-byte d)."""
    if alg == cose.EDDSA:
        k = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(private_key))
        from cryptography.hazmat.primitives import serialization as ser
        pub = k.public_key().public_bytes(ser.Encoding.Raw, ser.PublicFormat.Raw)
        return k.sign, pub
    if alg == cose.ES256:
        k = ec.derive_private_key(int.from_bytes(private_key, "big"), ec.SECP256R1())
        from cryptography.hazmat.primitives import serialization as ser
        pub = k.public_key().public_bytes(ser.Encoding.X962, ser.PublicFormat.UncompressedPoint)

        def sign(msg):
            r, s = decode_dss_signature(k.sign(bytes(msg), ec.ECDSA(hashes.SHA256())))
            return r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return sign, pub
    raise ValueError("unsupported signature algorithm %r" % (alg,))


class GroupSender(GroupContext, oscore.Sender):
    """A group member that also sends in group mode: its Sender Context (Sender ID, Sender Key,
    Sender Sequence Number seq, private key, credential) on top of GroupContext."""

    def __init__(self, private_key, sender_cred, sender_id, seq=0, verifier=crypto_verifier, **group):
        super().__init__(sender_id=sender_id, verifier=verifier, **group)
        alg, pub = cose.ccs_key(sender_cred)
        self._sign, mine = signer(self.algs[2], private_key)
        if alg != self.algs[2] or mine != pub:
            raise ValueError("the private key does not match the sender credential")
        self.sender_cred = sender_cred
        self.sender_key = self.key_for(sender_id)
        self.seq = seq

    def protect_request(self, data):
        """Plain request datagram -> (group-mode protected datagram, Binding). The Binding names this
        request (kid = our Sender ID, its PIV, kid context = Gid) for the responses bound to it."""
        piv = self.next_piv()
        out = self._protect(data, True, self.sender_id, piv, piv, self.sender_id, piv, self.gid)
        return out, Binding(self.sender_id, piv, self.gid)

    def protect_response(self, data, binding, fresh=True, kid_context=True):
        """Plain response datagram -> group-mode protected datagram bound to binding's request, with
        a fresh Partial IV (a notification; fresh=False reuses the request's nonce once, only for a
        request from another member). kid_context: name the Gid in the OSCORE option (draft -04 §7
        shows it on notifications; groupcomm makes it optional in responses)."""
        if fresh or not binding.reuse:
            piv = self.next_piv()
            id_piv, n_piv = self.sender_id, piv
        else:
            piv = None
            id_piv, n_piv = binding.kid, binding.piv
        binding.reuse = False
        return self._protect(data, False, id_piv, n_piv, piv, binding.kid, binding.piv,
                             self.gid if kid_context else None)

    def _protect(self, data, request, id_piv, n_piv, piv, req_kid, req_piv, kid_context):
        m, outer, pt, obs = oscore.split(data, self.outer)
        opt = cose.option(piv, kid_context, self.sender_id, group=True)
        ext = cose.aad_group(self.algs, req_kid, req_piv, self.gid, opt, self.sender_cred, self.gm_cred)
        ct = ccm.encrypt(self.sender_key, cose.nonce(self.common_iv, id_piv, n_piv), cose.enc_structure(ext), pt)
        sig = self._sign(cose.to_be_signed(ext, ct))
        payload = ct + ccm.xor(sig, self.keystream(id_piv, n_piv, request), cose.SIG_LEN)
        return oscore.wrap(m, oscore.outer_code(request, obs), outer, opt, payload)
