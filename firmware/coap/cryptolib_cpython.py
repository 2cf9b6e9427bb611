# CPython stand-in for MicroPython's cryptolib.aes, the subset coap.ccm uses: ECB (mode 1) and CBC
# (mode 2), encrypt only, chaining state kept across calls like cryptolib. Backed by the
# `cryptography` package (OpenSSL). Never imported on a board (coap.ccm imports cryptolib there).
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

MODE_ECB = 1
MODE_CBC = 2


class aes:  # noqa: N801  (cryptolib's name)
    def __init__(self, key, mode, iv=None):
        if len(key) not in (16, 24, 32):
            raise ValueError("key")
        if mode == MODE_ECB:
            m = modes.ECB()
        elif mode == MODE_CBC:
            m = modes.CBC(bytes(iv) if iv is not None else bytes(16))
        else:
            raise ValueError("mode")
        self._enc = Cipher(algorithms.AES(bytes(key)), m).encryptor()

    def encrypt(self, data, out=None):
        if len(data) % 16:
            raise ValueError("blksize")
        r = self._enc.update(bytes(data))
        if out is None:
            return r
        out[:len(r)] = r
        return None
