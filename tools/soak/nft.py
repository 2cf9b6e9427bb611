"""Loss and link drops with nftables (the kernel here has no netem): a private table on the output
hook (loopback traffic passes it once), deleted afterwards."""
import os
import shutil
import subprocess


def have_nft():
    return os.geteuid() == 0 and shutil.which("nft") is not None


class Nft:
    def __init__(self, tag):
        self.table = "coapcast_%s_%d" % (tag, os.getpid())
        self._nft("add", "table", "inet", self.table)
        self._nft("add", "chain", "inet", self.table, "out", "{ type filter hook output priority 0 ; }")

    @staticmethod
    def _nft(*args):
        r = subprocess.run(["nft"] + list(args), capture_output=True, text=True)
        if r.returncode:
            raise RuntimeError("nft %s: %s" % (" ".join(args), r.stderr.strip()))
        return r.stdout

    def rule(self, text):
        """e.g. 'udp dport 5683 numgen random mod 100 < 20 counter drop'"""
        self._nft(*(["add", "rule", "inet", self.table, "out"] + text.split()))

    def flush(self):
        self._nft("flush", "chain", "inet", self.table, "out")

    def counters(self):
        """[(rule text, packets)] of the rules with a counter."""
        out = []
        for line in self._nft("list", "chain", "inet", self.table, "out").splitlines():
            if "counter packets" in line:
                f = line.split()
                out.append((line.strip(), int(f[f.index("packets") + 1])))
        return out

    def delete(self):
        subprocess.run(["nft", "delete", "table", "inet", self.table], capture_output=True)
