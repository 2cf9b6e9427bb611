// The mbedTLS subset the boards' cryptolib and hashlib use (MicroPython's
// extmod/mbedtls/mbedtls_config_common.h, reduced to AES and SHA-256).
#ifndef COAPCAST_MBEDTLS_CONFIG_H
#define COAPCAST_MBEDTLS_CONFIG_H
#define MBEDTLS_AES_C
#define MBEDTLS_AES_ROM_TABLES
#define MBEDTLS_CIPHER_MODE_CBC
#define MBEDTLS_SHA256_C
#define MBEDTLS_SHA224_C
#define MBEDTLS_SHA256_SMALLER
#endif
