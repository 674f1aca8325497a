#ifndef OFFSITE_CBUILDINFO_H
#define OFFSITE_CBUILDINFO_H

/* What the binary was built from, and the libraries it runs with (read at run time). */

/* The git commit given at build time (`make` passes OFFSITE_AGENT_COMMIT), else "unknown". */
const char *offsite_build_commit(void);
/* The libcurl version loaded, "7.88.1", and the TLS library it uses, "OpenSSL/3.0.17" ("" if none). */
const char *offsite_libcurl_version(void);
const char *offsite_libcurl_ssl_version(void);
/* The libcrypto version loaded, "3.0.17". */
const char *offsite_openssl_version(void);

#endif
