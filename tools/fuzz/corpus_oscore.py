"""Seed corpus of the OSCORE fuzz targets (oscoreopt, unprotect; see targets.py), and the fixed keys
the unprotect target verifies with. oscore_options() also loads under MicroPython
(host_tests/fw/test_oscore_fuzz_replay.py); oscore_inputs() needs CPython (it signs)."""


# OSCORE / Group OSCORE (coap.oscore, coap.grouposcore): fixed keys shared with targets.OscoreTarget
OSC_SECRET = bytes(range(16))
OSC_CLI, OSC_SRV = b"\x01", b"\x03"              # the pairwise context's Sender IDs (draft §7: C_1, S)
OSC_GID, OSC_GSRV = bytes.fromhex("57ab2e"), b"\x05"  # the group, the server's group Sender ID
OSC_GKEY = bytes(range(32, 64))                     # the server's Ed25519 private key
OSC_PHANTOM_PIV = b"\x01\xf5"                       # 501


def oscore_options():
    """OSCORE option values (RFC 8613 §6.1, with the group flag): every field combination."""
    from coap import cose
    out = []
    for piv in (None, b"\x00", b"\x14", b"\x01\xf5", b"\xff" * 5):
        for ctx in (None, b"", OSC_GID, b"\x37\xcb\xf3\x21\x00\x17\xa2\xd3"):
            for kid in (None, b"", b"\x05", b"\x01\x02\x03\x04\x05\x06\x07"):
                for g in (False, True):
                    out.append(cose.option(piv, ctx, kid, g))
    return out


def oscore_inputs():
    """Inputs of the unprotect target: control byte + protected datagram (see targets.OscoreTarget):
    ctl & 3 = 0 requests at the server, 1 responses at the client (bound to the request with PIV 0),
    2 group-mode (phantom) requests at a board, 3 group-mode notifications bound to the phantom."""
    from coap import msg, oscore, oscoreserver
    from coap import options as o
    from tools.fuzz.corpus import notification, T, C1_TOKEN
    from tools.oscore_group import GroupSender
    from tools.oscore_keys import credential
    cli = oscore.Context(OSC_SECRET, OSC_CLI, OSC_SRV)
    srv = oscoreserver.Context(OSC_SECRET, OSC_SRV, OSC_CLI)
    out = []
    reqs = [msg.encode(msg.CON, msg.GET, 1, C1_TOKEN, [(o.OBSERVE, 0), (o.URI_PATH, "r")]),
            msg.encode(msg.CON, msg.POST, 2, C1_TOKEN, [(o.URI_HOST, "srv"), (o.URI_PATH, "fb"), (o.MRFD, 2)], b"x"),
            msg.encode(msg.NON, msg.GET, 3, b"", [(o.URI_PATH, "a"), (o.URI_QUERY, "q=1"), (o.PM, 0x41)])]
    for k, r in enumerate(reqs):
        out.append(bytes([k * 4]) + cli.protect_request(r)[0])
    b = oscore.Binding(OSC_CLI, b"\x00", reuse=True)
    for k in range(3):
        out.append(bytes([1 + 4 * k]) + srv.protect_response(notification(10 + k), b))
    out.append(bytes([1]) + srv.protect_response(msg.encode(msg.ACK, msg.SERVICE_UNAVAILABLE, 1, C1_TOKEN), b))
    cred = credential(-8, OSC_GKEY)
    g = GroupSender(OSC_GKEY, cred, OSC_GSRV, seq=501, gid=OSC_GID, master_secret=OSC_SECRET, members={OSC_GSRV: cred})
    ph, gb = g.protect_request(msg.encode(msg.NON, msg.GET, 0, T, [(o.OBSERVE, 0), (o.URI_PATH, "r")]))
    out.append(bytes([2]) + ph)
    for k in range(3):
        out.append(bytes([3 + 4 * k]) + g.protect_response(notification(11 + k), gb, kid_context=k == 1))
    return out


def corpus(target):
    return {"oscoreopt": oscore_options, "unprotect": oscore_inputs}[target]()
