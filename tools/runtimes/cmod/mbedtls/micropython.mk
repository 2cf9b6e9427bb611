# cryptolib (AES: ECB, CBC) and hashlib.sha256 on mbedTLS, as the ESP32 and RP2040 ports link them.
# Debian's micropython source strips lib/mbedtls; build.sh fills it from Debian's mbedtls source.
# CTR mode stays off (MICROPY_PY_CRYPTOLIB_CTR: off on the Pico W).
CFLAGS_USERMOD += -DMICROPY_SSL_MBEDTLS=1 -DMICROPY_PY_CRYPTOLIB=1 -I$(TOP)/lib/mbedtls/include -I$(USERMOD_DIR) \
	-DMBEDTLS_CONFIG_FILE='"mbedtls_config_coapcast.h"'
SRC_USERMOD_LIB_C += lib/mbedtls/library/aes.c lib/mbedtls/library/sha256.c lib/mbedtls/library/platform_util.c
$(BUILD)/lib/mbedtls/library/%.o: CFLAGS += -Wno-error -Wno-unused-parameter -Wno-sign-compare -I$(TOP)/lib/mbedtls/library
