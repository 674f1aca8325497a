#ifndef OFFSITE_COPENSSL_SHIM_H
#define OFFSITE_COPENSSL_SHIM_H
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/err.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/kdf.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <string.h>

/* Small non-variadic wrappers for the age primitives (X25519, HKDF-SHA-256, ChaCha20-Poly1305):
   Swift calls one function per operation, every length fixed by the caller. Each returns 1 on
   success, 0 on failure. */

/* The X25519 public key of a 32-byte private scalar. */
static inline int offsite_x25519_public(const unsigned char priv[32], unsigned char pub[32]) {
    EVP_PKEY *key = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, 32);
    if (key == NULL) return 0;
    size_t len = 32;
    int ok = EVP_PKEY_get_raw_public_key(key, pub, &len) == 1 && len == 32;
    EVP_PKEY_free(key);
    return ok;
}

/* X25519(priv, peer); fails for an all-zero result (a low-order peer point). */
static inline int offsite_x25519(const unsigned char priv[32], const unsigned char peer[32], unsigned char out[32]) {
    EVP_PKEY *key = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, 32);
    EVP_PKEY *other = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, peer, 32);
    EVP_PKEY_CTX *ctx = key ? EVP_PKEY_CTX_new(key, NULL) : NULL;
    size_t len = 32;
    int ok = key && other && ctx && EVP_PKEY_derive_init(ctx) == 1 && EVP_PKEY_derive_set_peer(ctx, other) == 1
        && EVP_PKEY_derive(ctx, out, &len) == 1 && len == 32;
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(other);
    EVP_PKEY_free(key);
    if (ok) {
        unsigned char zero[32] = {0};
        if (CRYPTO_memcmp(out, zero, 32) == 0) ok = 0;
    }
    return ok;
}

/* HKDF-SHA-256 (RFC 5869), extract and expand. */
static inline int offsite_hkdf_sha256(const unsigned char *ikm, size_t ikm_len, const unsigned char *salt, size_t salt_len,
                                      const char *info, size_t info_len, unsigned char *out, size_t out_len) {
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    if (kdf == NULL) return 0;
    EVP_KDF_CTX *ctx = EVP_KDF_CTX_new(kdf);
    EVP_KDF_free(kdf);
    if (ctx == NULL) return 0;
    static const unsigned char empty[1] = {0};
    OSSL_PARAM params[5];
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len);
    params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)(salt_len ? salt : empty), salt_len);
    params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len);
    params[4] = OSSL_PARAM_construct_end();
    int ok = EVP_KDF_derive(ctx, out, out_len, params) == 1;
    EVP_KDF_CTX_free(ctx);
    return ok;
}

/* ChaCha20-Poly1305 (RFC 8439) seal with a 12-byte nonce and no associated data: `len` bytes of
   `in` to `out` (may be the same buffer), then the 16-byte tag at `tag`. */
static inline int offsite_chacha_seal(EVP_CIPHER_CTX *ctx, const unsigned char key[32], const unsigned char nonce[12],
                                      const unsigned char *in, size_t len, unsigned char *out, unsigned char tag[16]) {
    int n = 0, f = 0;
    if (EVP_EncryptInit_ex(ctx, EVP_chacha20_poly1305(), NULL, key, nonce) != 1) return 0;
    if (len > 0 && EVP_EncryptUpdate(ctx, out, &n, in, (int)len) != 1) return 0;
    if (EVP_EncryptFinal_ex(ctx, out + n, &f) != 1) return 0;
    if ((size_t)(n + f) != len) return 0;
    return EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, tag) == 1;
}

/* Opens what `offsite_chacha_seal` sealed; 0 when the tag does not authenticate (then `out`
   must not be used). */
static inline int offsite_chacha_open(EVP_CIPHER_CTX *ctx, const unsigned char key[32], const unsigned char nonce[12],
                                      const unsigned char *in, size_t len, const unsigned char tag[16], unsigned char *out) {
    int n = 0, f = 0;
    if (EVP_DecryptInit_ex(ctx, EVP_chacha20_poly1305(), NULL, key, nonce) != 1) return 0;
    if (len > 0 && EVP_DecryptUpdate(ctx, out, &n, in, (int)len) != 1) return 0;
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16, (void *)tag) != 1) return 0;
    if (EVP_DecryptFinal_ex(ctx, out + n, &f) != 1) return 0;
    return (size_t)(n + f) == len;
}

/* ChaCha20 alone (RFC 8439 block counter 1, as the AEAD encrypts): re-creates a sealed chunk's
   ciphertext whose tag is already known, without Poly1305. */
static inline int offsite_chacha20_xor(EVP_CIPHER_CTX *ctx, const unsigned char key[32], const unsigned char nonce[12],
                                       const unsigned char *in, size_t len, unsigned char *out) {
    unsigned char iv[16] = {1, 0, 0, 0};
    int n = 0;
    memcpy(iv + 4, nonce, 12);
    if (EVP_EncryptInit_ex(ctx, EVP_chacha20(), NULL, key, iv) != 1) return 0;
    if (len > 0 && EVP_EncryptUpdate(ctx, out, &n, in, (int)len) != 1) return 0;
    return (size_t)n == len;
}

/* Whether this libcrypto offers every algorithm age needs. */
static inline int offsite_age_available(void) {
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_CIPHER *cipher = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
    EVP_PKEY_CTX *x = EVP_PKEY_CTX_new_id(EVP_PKEY_X25519, NULL);
    int ok = kdf != NULL && cipher != NULL && x != NULL;
    EVP_KDF_free(kdf);
    EVP_CIPHER_free(cipher);
    EVP_PKEY_CTX_free(x);
    return ok;
}
#endif
