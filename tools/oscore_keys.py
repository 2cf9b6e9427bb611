"""OSCORE / Group OSCORE key files: generate a group, load a member's file into security contexts.

    python -m tools.oscore_keys --out DIR [--clients c1,c2 | --n 2] [--alg ed25519|es256]
                                [--gid HEX] [--name myGroup] [--join-uri URI] [--as-uri URI]
    python -m tools.oscore_keys --check FILE

writes one JSON file per member (DIR/server.json, DIR/c1.json, ...) and, for each client (a board),
DIR/c1_config.py: a config.py-ready module with OSCORE (coap.oscore.Context keywords) and
GROUP_OSCORE (coap.grouposcore.GroupContext keywords), holding only what the board needs (no private
key: boards verify, they do not sign; only the server's credential). Files are created mode 0600.

Identifiers follow the draft's §7 example: with N clients, client i has Sender ID i in its pairwise
OSCORE context with the server, where the server has Sender ID N+i; in the group the server has
Sender ID 2N+1 and client i has i (N = 2: C_1 kid 1, C_2 kid 2, server 3 and 4, group server 5).

Key file (JSON, byte strings in hex, format "coapcast-oscore/1"):
  member, role ("server" | "client")
  group: name (the sec_gp of draft -04 §6.1), gid, master_secret, master_salt, alg_aead (10),
         alg_group_enc (10), alg_signature (-8 EdDSA | -7 ES256), alg_pairwise_key_agreement (-27),
         hkdf (-10), cred_fmt (14, kccs), gm_cred (null: no Group Manager), join_uri, as_uri,
         sender_id, private_key (Ed25519 seed | P-256 d; own file only),
         members: {sender id: {"name", "cred" (CCS: {8: {1: COSE_Key}})}}
  oscore: [{peer, master_secret, master_salt, id_context, sender_id, recipient_id}]  (RFC 8613 pairs)
"""
import argparse
import json
import os
import secrets
import sys

from coap import cborenc, cose, oscoreserver

FORMAT = "coapcast-oscore/1"
ALGS = {"ed25519": cose.EDDSA, "es256": cose.ES256}
_HEX_GROUP = ("gid", "master_secret", "master_salt", "gm_cred", "sender_id", "private_key")
_HEX_PAIR = ("master_secret", "master_salt", "id_context", "sender_id", "recipient_id")


def _id(k):
    return cose.piv_bytes(k)  # minimal big-endian, the same shape as a Partial IV


def credential(alg, private_key):
    """The CCS credential of a raw private key (Ed25519 seed, P-256 d), in the CWT Claims Set form
    aiocoap writes (kccs): {8: {1: COSE_Key}}."""
    from tools.oscore_group import signer
    pub = signer(alg, private_key)[1]
    if alg == cose.EDDSA:
        key = {1: 1, 3: cose.EDDSA, -1: 6, -2: pub}                # OKP, EdDSA, Ed25519, x
    else:
        key = {1: 2, 3: cose.ES256, -2: pub[1:33], -3: pub[33:]}   # EC2, ES256, x, y
    return cborenc.dumps({8: {1: key}})


def keypair(alg):
    """(private key bytes, CCS credential) of a new key pair for alg (cose.EDDSA or cose.ES256)."""
    if alg == cose.EDDSA:
        priv = secrets.token_bytes(32)
    elif alg == cose.ES256:
        from cryptography.hazmat.primitives.asymmetric import ec
        priv = ec.generate_private_key(ec.SECP256R1()).private_numbers().private_value.to_bytes(32, "big")
    else:
        raise ValueError("unsupported signature algorithm %r" % (alg,))
    return priv, credential(alg, priv)


def generate(clients=("c1", "c2"), alg=cose.EDDSA, gid=None, name="myGroup", join_uri=None, as_uri=None,
             server="server"):
    """{member name: key file dict} for a new group: the server and the clients."""
    n = len(clients)
    if n < 1 or len(set(clients)) != n or server in clients:
        raise ValueError("client names must be distinct, non-empty and not the server's")
    gid = gid if gid is not None else secrets.token_bytes(3)
    group = {"name": name, "gid": gid, "master_secret": secrets.token_bytes(16), "master_salt": secrets.token_bytes(8),
             "alg_aead": cose.AES_CCM_16_64_128, "alg_group_enc": cose.AES_CCM_16_64_128, "alg_signature": alg,
             "alg_pairwise_key_agreement": cose.ECDH_SS_HKDF_256, "hkdf": cose.HKDF_SHA256, "cred_fmt": 14,
             "gm_cred": None, "join_uri": join_uri or "coap://gm.invalid/ace-group/" + name, "as_uri": as_uri}
    ids = {server: _id(2 * n + 1)}
    ids.update({c: _id(i + 1) for i, c in enumerate(clients)})
    keys = {m: keypair(alg) for m in ids}
    members = {ids[m]: {"name": m, "cred": keys[m][1]} for m in ids}
    pairs = {c: {"master_secret": secrets.token_bytes(16), "master_salt": secrets.token_bytes(8), "id_context": None,
                 "client_id": _id(i + 1), "server_id": _id(n + i + 1)} for i, c in enumerate(clients)}
    out = {}
    for m in ids:
        g = dict(group, sender_id=ids[m], private_key=keys[m][0], members=members)
        if m == server:
            pw = [{"peer": c, "master_secret": p["master_secret"], "master_salt": p["master_salt"],
                   "id_context": None, "sender_id": p["server_id"], "recipient_id": p["client_id"]}
                  for c, p in pairs.items()]
        else:
            p = pairs[m]
            pw = [{"peer": server, "master_secret": p["master_secret"], "master_salt": p["master_salt"],
                   "id_context": None, "sender_id": p["client_id"], "recipient_id": p["server_id"]}]
        out[m] = {"format": FORMAT, "member": m, "role": "server" if m == server else "client", "group": g,
                  "oscore": pw}
    return out


def _hex(d, fields):
    return {k: (v.hex() if isinstance(v, bytes) and k in fields else v) for k, v in d.items()}


def dumps(kf):
    """A key file dict (byte strings as bytes) -> JSON text."""
    g = _hex(kf["group"], _HEX_GROUP)
    g["members"] = {k.hex(): {"name": v["name"], "cred": v["cred"].hex()} for k, v in kf["group"]["members"].items()}
    return json.dumps(dict(kf, group=g, oscore=[_hex(p, _HEX_PAIR) for p in kf["oscore"]]), indent=1) + "\n"


def _unhex(d, fields, where):
    out = dict(d)
    for k in fields:
        if out.get(k) is not None:
            try:
                out[k] = bytes.fromhex(out[k])
            except (TypeError, ValueError):
                raise ValueError("%s.%s is not a hex string" % (where, k))
    return out


def loads(text):
    """JSON text -> key file dict with bytes; ValueError (one line) for anything malformed."""
    try:
        kf = json.loads(text)
        if kf.get("format") != FORMAT:
            raise ValueError("not a %s key file" % FORMAT)
        g = _unhex(kf["group"], _HEX_GROUP, "group")
        for k in ("gid", "master_secret", "sender_id", "alg_signature", "members"):
            if g.get(k) is None:
                raise ValueError("group.%s is missing" % k)
        g["members"] = {bytes.fromhex(k): {"name": v["name"], "cred": bytes.fromhex(v["cred"])}
                        for k, v in g["members"].items()}
        pw = [_unhex(p, _HEX_PAIR, "oscore[%d]" % i) for i, p in enumerate(kf.get("oscore", []))]
        for p in pw:
            for k in ("peer", "master_secret", "sender_id", "recipient_id"):
                if p.get(k) is None:
                    raise ValueError("oscore entry without %s" % k)
        return dict(kf, group=g, oscore=pw)
    except (KeyError, TypeError, AttributeError) as e:
        raise ValueError("malformed key file (%s: %s)" % (type(e).__name__, e))
    except json.JSONDecodeError as e:
        raise ValueError("key file is not JSON: %s" % e)


def load(path):
    with open(path) as f:
        return loads(f.read())


_CTX_KEYS = ("gid", "master_secret", "master_salt", "alg_aead", "alg_group_enc", "alg_signature",
             "alg_pairwise_key_agreement", "gm_cred", "hkdf")


def group_kwargs(kf, verify=None):
    """GroupContext keywords from a key file: members -> {Sender ID: credential}; verify: the Sender
    IDs whose messages this member verifies (default: all others)."""
    g = kf["group"]
    kw = {k: g.get(k) for k in _CTX_KEYS if g.get(k) is not None}
    kw["master_salt"] = g.get("master_salt") or b""
    kw["sender_id"] = g["sender_id"]
    kw["members"] = {k: v["cred"] for k, v in g["members"].items()
                     if k != g["sender_id"] and (verify is None or k in verify)}
    return kw


def group_sender(kf, seq=0):
    """The member's GroupSender (tools.oscore_group; needs its private key), verifying all others."""
    from tools.oscore_group import GroupSender
    g = kf["group"]
    if not g.get("private_key"):
        raise ValueError("key file of %s has no private key" % kf.get("member"))
    return GroupSender(g["private_key"], g["members"][g["sender_id"]]["cred"], seq=seq, **group_kwargs(kf))


def oscore_contexts(kf):
    """{peer name: coap.oscoreserver.Context} of the member's RFC 8613 pairwise contexts (the host's
    class: both roles; a board uses coap.oscore.Context)."""
    return {p["peer"]: oscoreserver.Context(p["master_secret"], p["sender_id"], p["recipient_id"],
                                      master_salt=p.get("master_salt") or b"", id_context=p.get("id_context"))
            for p in kf["oscore"]}


def info_fields(kf):
    """Draft -04 §6.1 fields for the informative response, by name (the §10 keys are the codec's):
    join_uri, sec_gp, and the optional as_uri, cs_alg, cs_crv, cs_kty, cs_kenc, alg, hkdf."""
    g = kf["group"]
    ed = g["alg_signature"] == cose.EDDSA
    out = {"join_uri": g["join_uri"], "sec_gp": g["name"], "cs_alg": g["alg_signature"], "cs_crv": 6 if ed else 1,
           "cs_kty": 1 if ed else 2, "cs_kenc": 1, "alg": g["alg_aead"], "hkdf": g["hkdf"]}
    if g.get("as_uri"):
        out["as_uri"] = g["as_uri"]
    return out


def board_module(kf, server_id=None):
    """config.py-ready Python source for a client (board): OSCORE and GROUP_OSCORE dicts (keywords of
    coap.oscore.Context / coap.grouposcore.GroupContext), with only the server's credential."""
    g = kf["group"]
    if server_id is None:
        server_id = next(k for k, v in g["members"].items() if k != g["sender_id"] and v["name"] == kf["oscore"][0]["peer"])
    kw = group_kwargs(kf, verify=(server_id,))
    p = kf["oscore"][0]
    lines = ["# OSCORE / Group OSCORE keys of board %r (python -m tools.oscore_keys). Keep secret: it holds the" % kf["member"],
             "# group's master secret. Paste into config.py, or deploy as its own module and import it from there.",
             "OSCORE = {  # coap.oscore.Context(**OSCORE): the RFC 8613 context with the server",
             "    'master_secret': %r," % p["master_secret"], "    'master_salt': %r," % (p.get("master_salt") or b""),
             "    'sender_id': %r," % p["sender_id"], "    'recipient_id': %r," % p["recipient_id"],
             "    'id_context': %r," % p.get("id_context"), "}",
             "GROUP_OSCORE = {  # coap.grouposcore.GroupContext(**GROUP_OSCORE): verifies the server's group-mode messages",
             "    'name': %r," % g["name"]]
    lines += ["    %r: %r," % (k, kw[k]) for k in _CTX_KEYS + ("sender_id",) if k in kw]
    lines.append("    'members': {%s}," % ", ".join("%r: %r" % (k, v) for k, v in kw["members"].items()))
    lines.append("}")
    return "\n".join(lines) + "\n"


def _write(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tools.oscore_keys", description=__doc__.splitlines()[0])
    ap.add_argument("--out", help="directory for the key files (created)")
    ap.add_argument("--clients", help="comma-separated client (board) names (default c1,c2)")
    ap.add_argument("--n", type=int, help="number of clients, named c1..cN")
    ap.add_argument("--server", default="server", help="the server's name (default server)")
    ap.add_argument("--alg", choices=sorted(ALGS), default="ed25519", help="signature algorithm (default ed25519)")
    ap.add_argument("--gid", help="Group ID (hex; default 3 random bytes)")
    ap.add_argument("--name", default="myGroup", help="group name (sec_gp)")
    ap.add_argument("--join-uri", help="join_uri for the informative response (draft -04 §6.1)")
    ap.add_argument("--as-uri", help="as_uri for the informative response")
    ap.add_argument("--check", metavar="FILE", help="validate a key file and print a summary")
    a = ap.parse_args(argv)
    try:
        if a.check:
            kf = load(a.check)
            ctxs = oscore_contexts(kf)
            g = kf["group"]
            group_kwargs(kf)
            print("%s: member %s (%s), group %s gid %s, %d members, alg %d, %d OSCORE context(s): %s" % (
                a.check, kf["member"], kf["role"], g["name"], g["gid"].hex(), len(g["members"]), g["alg_signature"],
                len(ctxs), ", ".join(ctxs)))
            return 0
        if not a.out:
            ap.error("--out or --check is required")
        clients = a.clients.split(",") if a.clients else ["c%d" % i for i in range(1, (a.n or 2) + 1)]
        files = generate(clients, ALGS[a.alg], bytes.fromhex(a.gid) if a.gid else None, a.name, a.join_uri, a.as_uri,
                         a.server)
        os.makedirs(a.out, exist_ok=True)
        for m, kf in files.items():
            _write(os.path.join(a.out, m + ".json"), dumps(kf))
            if kf["role"] == "client":
                _write(os.path.join(a.out, m + "_config.py"), board_module(kf))
        print("wrote %d key files (%s) and %d board modules to %s" % (
            len(files), ", ".join(files), len(files) - 1, a.out))
        return 0
    except (ValueError, OSError) as e:
        print("oscore_keys: %s" % e, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
