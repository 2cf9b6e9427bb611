# A board without OSCORE pays nothing for it: importing the board client and app API loads none of the
# security modules (checked in fresh interpreters: CPython and the MicroPython unix port).
import subprocess
import sys

from helpers import micropython_bin, micropython_env

SECURITY = ("coap.hkdf", "coap.ccm", "coap.cose", "coap.oscore", "coap.oscoreserver", "coap.grouposcore",
            "coap.sigverify", "coap.cborenc", "coap.ticket", "cryptolib")
CODE = "import sys, coap.client, coapcast\nprint(sorted(m for m in %r if m in sys.modules))" % (SECURITY,)


def test_board_client_imports_no_security_module():
    for cmd, env in (([sys.executable, "-c", CODE], None),
                     ([micropython_bin(), "-X", "heapsize=192k", "-c", CODE], micropython_env())):
        p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
        assert p.returncode == 0 and p.stdout.strip() == "[]", (cmd[0], p.stdout, p.stderr)
