#ifndef OFFSITE_CCURLSHIM_H
#define OFFSITE_CCURLSHIM_H

/* Non-variadic wrappers around curl_easy_setopt / curl_easy_getinfo / curl_multi_setopt.
 * Swift cannot call C variadic functions, and passing bool/int through varargs is
 * undefined behaviour: every wrapper names the exact C type curl expects. */

#include <curl/curl.h>
#include <stddef.h>
#include <sys/types.h>

typedef size_t (*ccurl_io_cb)(char *buffer, size_t size, size_t nitems, void *userdata);
typedef int (*ccurl_xferinfo_cb)(void *userdata, curl_off_t dltotal, curl_off_t dlnow,
                                 curl_off_t ultotal, curl_off_t ulnow);
typedef int (*ccurl_seek_cb)(void *userdata, curl_off_t offset, int origin);
typedef int (*ccurl_sockopt_cb)(void *userdata, curl_socket_t fd, curlsocktype purpose);

CURLcode ccurl_setopt_long(CURL *handle, CURLoption option, long value);
CURLcode ccurl_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value);
CURLcode ccurl_setopt_ptr(CURL *handle, CURLoption option, void *value);
CURLcode ccurl_setopt_str(CURL *handle, CURLoption option, const char *value);
CURLcode ccurl_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value);
CURLcode ccurl_setopt_read_cb(CURL *handle, ccurl_io_cb cb);
CURLcode ccurl_setopt_write_cb(CURL *handle, ccurl_io_cb cb);
CURLcode ccurl_setopt_header_cb(CURL *handle, ccurl_io_cb cb);
CURLcode ccurl_setopt_xferinfo_cb(CURL *handle, ccurl_xferinfo_cb cb);
CURLcode ccurl_setopt_seek_cb(CURL *handle, ccurl_seek_cb cb);

CURLcode ccurl_getinfo_long(CURL *handle, CURLINFO info, long *value);
CURLcode ccurl_getinfo_off_t(CURL *handle, CURLINFO info, curl_off_t *value);
CURLcode ccurl_getinfo_double(CURL *handle, CURLINFO info, double *value);
CURLcode ccurl_getinfo_str(CURL *handle, CURLINFO info, const char **value);
CURLcode ccurl_getinfo_ptr(CURL *handle, CURLINFO info, void **value);

CURLMcode ccurl_multi_setopt_long(CURLM *multi, CURLMoption option, long value);

/* CURLOPT_UPLOAD_BUFFERSIZE (libcurl >= 7.62): how much the read callback is asked for at once.
 * Returns CURLE_UNKNOWN_OPTION on an older libcurl, which keeps its 64 KiB default. */
CURLcode ccurl_setopt_upload_buffer_size(CURL *handle, long bytes);

/* Option ids, re-exported as plain constants: some are macros Swift cannot import. */
extern const long ccurl_readfunc_abort;
extern const size_t ccurl_writefunc_pause;
extern const long ccurl_version_num;
/* 1 when this libcurl supports CURLOPT_CA_CACHE_TIMEOUT and similar (>= 7.87). */
int ccurl_has_ca_cache_timeout(void);

#endif

/* Signal handling for the agent: SIGINT/SIGTERM set a flag the transfer loop polls
 * (async-signal-safe: the handler only stores to a volatile sig_atomic_t). */
void agent_signals_install(void);
/* The signal number caught (SIGINT or SIGTERM), or 0. */
int agent_signals_caught(void);
