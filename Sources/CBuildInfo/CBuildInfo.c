#include "CBuildInfo.h"

#include <curl/curl.h>
#include <openssl/crypto.h>

#ifndef OFFSITE_AGENT_COMMIT
#define OFFSITE_AGENT_COMMIT "unknown"
#endif

const char *offsite_build_commit(void) { return OFFSITE_AGENT_COMMIT; }

const char *offsite_libcurl_version(void) {
    const curl_version_info_data *info = curl_version_info(CURLVERSION_NOW);
    return info && info->version ? info->version : "unknown";
}

const char *offsite_libcurl_ssl_version(void) {
    const curl_version_info_data *info = curl_version_info(CURLVERSION_NOW);
    return info && info->ssl_version ? info->ssl_version : "";
}

const char *offsite_openssl_version(void) {
#ifdef OPENSSL_VERSION_STRING
    return OpenSSL_version(OPENSSL_VERSION_STRING);
#else
    return OpenSSL_version(OPENSSL_VERSION);
#endif
}
