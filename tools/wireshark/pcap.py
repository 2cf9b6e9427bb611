# A minimal pcap writer (LINKTYPE_RAW: IPv4/IPv6 packets, no link header) for datagrams that the
# codec or a sans-I/O core produced: a reproducible "capture" for tshark without capture rights.
import ipaddress
import struct

LINKTYPE_RAW = 101


def _csum(b):
    if len(b) % 2:
        b += b"\x00"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def udp_packet(src, dst, payload):
    """An IP/UDP packet from src=(host, port) to dst=(host, port) carrying payload (bytes)."""
    sa, da = ipaddress.ip_address(src[0]), ipaddress.ip_address(dst[0])
    if sa.version != da.version:
        raise ValueError("source and destination are of different IP versions")
    udp_len = 8 + len(payload)
    if sa.version == 4:
        pseudo = sa.packed + da.packed + struct.pack("!BBH", 0, 17, udp_len)
    else:
        pseudo = sa.packed + da.packed + struct.pack("!IxxxB", udp_len, 17)
    udp = struct.pack("!HHHH", src[1], dst[1], udp_len, 0) + bytes(payload)
    udp = udp[:6] + struct.pack("!H", _csum(pseudo + udp) or 0xFFFF) + udp[8:]
    if sa.version == 4:
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, 0, 0x4000, 64, 17, 0, sa.packed, da.packed)
        ip = ip[:10] + struct.pack("!H", _csum(ip)) + ip[12:]
    else:
        ip = struct.pack("!IHBB16s16s", 6 << 28, udp_len, 17, 64, sa.packed, da.packed)
    return ip + udp


def write(path, datagrams, t0=1700000000.0, step=0.01):
    """Write [(bytes, (src_host, src_port), (dst_host, dst_port))] to a pcap file, one packet per
    datagram, `step` seconds apart."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, LINKTYPE_RAW))
        for i, (data, src, dst) in enumerate(datagrams):
            pkt = udp_packet(src, dst, data)
            t = t0 + i * step
            f.write(struct.pack("<IIII", int(t), int((t % 1) * 1e6), len(pkt), len(pkt)))
            f.write(pkt)
