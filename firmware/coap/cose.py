# The COSE structures of OSCORE (RFC 8613 §5, §6.1) and of Group OSCORE group mode as aiocoap 0.4.17
# implements draft-ietf-core-oscore-groupcomm-23 (§2.1, §4): the OSCORE option (compressed COSE
# header), the AEAD nonce, the external_aad arrays, Enc_structure, the countersignature's
# to-be-signed structure and the HKDF info arrays. Everything is encoded with the repo's one CBOR
# encoder (coap.cborenc). Loaded only with OSCORE.
from coap.compat import const
from coap import cborenc
from coap.msgcore import DecodeError
from coap.ccm import xor

OSCORE = const(9)  # the OSCORE option number (RFC 8613 §2; class U, critical, unsafe)

# COSE algorithm identifiers this profile uses (IANA "COSE Algorithms")
AES_CCM_16_64_128 = const(10)   # AEAD and Group Encryption Algorithm
HKDF_SHA256 = const(-10)        # the HKDF algorithm (RFC 8613 §3.2.1 default)
EDDSA = const(-8)               # Ed25519 signatures
ES256 = const(-7)               # ECDSA w/ SHA-256 on P-256
ECDH_SS_HKDF_256 = const(-27)   # pairwise key agreement (named in the group AAD only)

NONCE_LEN = const(13)  # AES-CCM-16-64-128: 13-byte nonce, 8-byte tag, 16-byte key
TAG_LEN = const(8)
KEY_LEN = const(16)
SIG_LEN = const(64)    # both signature algorithms: 64 bytes (Ed25519 R|S, ECDSA r|s)
MAX_PIV_LEN = const(5)

# OSCORE option flag byte (RFC 8613 §6.1): 0 0 g h k n n n; g is the Group Flag (groupcomm-23 §4.1)
_N = const(0x07)
_K = const(0x08)
_H = const(0x10)
_G = const(0x20)
_RESERVED = const(0xC0)


def parse_option(v):
    """OSCORE option value -> (piv, kid_context, kid, group); absent fields are None, group a bool.
    Raises DecodeError for a malformed or truncated value (RFC 8613 §6.1)."""
    n = len(v)
    if n == 0:
        return None, None, None, False
    f = v[0]
    if f & _RESERVED:
        raise DecodeError("OSCORE option: reserved flag bits set")
    if f == 0:
        raise DecodeError("OSCORE option: all-zero flags must be sent as an empty option")
    p = f & _N
    if p > MAX_PIV_LEN:
        raise DecodeError("OSCORE option: Partial IV length 6 or 7 is reserved")
    i = 1 + p
    if i > n:
        raise DecodeError("OSCORE option: Partial IV runs past the end")
    piv = bytes(v[1:i]) if p else None
    ctx = None
    if f & _H:
        if i >= n:
            raise DecodeError("OSCORE option: kid context length missing")
        s = v[i]
        i += 1
        if i + s > n:
            raise DecodeError("OSCORE option: kid context runs past the end")
        ctx = bytes(v[i:i + s])
        i += s
    kid = None
    if f & _K:
        kid = bytes(v[i:])
        i = n
    if i != n:
        raise DecodeError("OSCORE option: %d bytes after the last field" % (n - i))
    return piv, ctx, kid, f & _G != 0


def option(piv=None, kid_context=None, kid=None, group=False):
    """The OSCORE option value (RFC 8613 §6.1): empty when no field is present."""
    f = (len(piv) if piv else 0) | (_K if kid is not None else 0) | (_H if kid_context is not None else 0) | \
        (_G if group else 0)
    if not f:
        return b""
    out = bytearray((f,))
    if piv:
        if len(piv) > MAX_PIV_LEN:
            raise ValueError("Partial IV longer than 5 bytes")
        out += piv
    if kid_context is not None:
        if len(kid_context) > 255:
            raise ValueError("kid context longer than 255 bytes")
        out.append(len(kid_context))
        out += kid_context
    if kid is not None:
        out += kid
    return bytes(out)


def piv_bytes(seq):
    """Sender Sequence Number -> Partial IV: big-endian, no leading zeros, 0 as one byte (§6.1)."""
    n = 1
    while seq >> (8 * n):
        n += 1
    return seq.to_bytes(n, "big")


def nonce(common_iv, id_piv, piv):
    """AEAD nonce (RFC 8613 §5.2): Common IV XOR (size of ID_PIV | ID_PIV left-padded to
    nonce length - 6 | PIV left-padded to 5 bytes)."""
    n = len(common_iv)
    k = len(id_piv)
    if k > n - 6:
        raise ValueError("ID_PIV longer than nonce length - 6")
    b = bytearray(n)
    b[0] = k
    b[n - 5 - k:n - 5] = id_piv
    b[n - len(piv):] = piv
    return xor(b, common_iv, n)


def aad(alg_aead, request_kid, request_piv):
    """external_aad of OSCORE (RFC 8613 §5.4): aad_array = [1, [alg_aead], request_kid,
    request_piv, options (class I: none)]."""
    return cborenc.dumps([1, [alg_aead], request_kid, request_piv, b""])


def aad_group(algs, request_kid, request_piv, request_kid_context, oscore_option, sender_cred, gm_cred):
    """external_aad of Group OSCORE (groupcomm-23 §4.3, as aiocoap builds it): [1, [alg_aead,
    alg_group_enc, alg_signature, alg_pairwise_key_agreement], request_kid, request_piv, options,
    request_kid_context, OSCORE_option, sender_cred, gm_cred]. Encryption and signature use the
    same array."""
    return cborenc.dumps([1, algs, request_kid, request_piv, b"", request_kid_context, oscore_option,
                          sender_cred, gm_cred])


def enc_structure(external_aad):
    """The AEAD's additional data (RFC 8613 §5.3, RFC 9052 §5.3): ["Encrypt0", h'', external_aad]."""
    return cborenc.dumps(["Encrypt0", b"", external_aad])


def to_be_signed(external_aad, ciphertext):
    """What the group-mode signature covers (groupcomm-23 §4.4, aiocoap's CounterSignature0):
    ["CounterSignature0", h'', h'', external_aad, ciphertext]."""
    return cborenc.dumps(["CounterSignature0", b"", b"", external_aad, ciphertext])


def kdf_info(id_, id_context, alg, typ, n):
    """HKDF info (RFC 8613 §3.2.1): [id, id_context, alg_aead, type ("Key", "IV", "SEKey"), L]."""
    return cborenc.dumps([id_, id_context, alg, typ, n])


def keystream_info(id_piv, id_context, request, n):
    """HKDF info of the signature keystream (groupcomm-23 §4.5 as in aiocoap): [ID of the PIV's
    generator, ID Context, true for a request / false for a response, L]."""
    return cborenc.dumps([id_piv, id_context, request, n])


def ccs_key(ccs):
    """(alg, public key bytes) from a CWT Claims Set credential {8: {1: COSE_Key}} (RFC 8747, the
    kccs format aiocoap uses): Ed25519 -> 32-byte x; P-256 -> 65-byte SEC1 04|x|y. Raises ValueError."""
    from coap import cbor
    try:
        k = cbor.loads(ccs)[8][1]
        kty = k[1]
        alg = k.get(3)
        if kty == 1 and k.get(-1, 6) == 6 and alg in (None, EDDSA) and len(k[-2]) == 32:  # OKP, Ed25519
            return EDDSA, k[-2]
        if kty == 2 and k.get(-1, 1) == 1 and alg in (None, ES256) and len(k[-2]) == len(k[-3]) == 32:
            return ES256, b"\x04" + k[-2] + k[-3]  # EC2, P-256
    except (DecodeError, KeyError, IndexError, TypeError, AttributeError):
        pass
    raise ValueError("credential is not a CCS with an Ed25519 or P-256 COSE key")
