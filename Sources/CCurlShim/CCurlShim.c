#include "CCurlShim.h"

CURLcode ccurl_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}
CURLcode ccurl_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}
CURLcode ccurl_setopt_ptr(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}
CURLcode ccurl_setopt_str(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}
CURLcode ccurl_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value) {
    return curl_easy_setopt(handle, option, value);
}
CURLcode ccurl_setopt_read_cb(CURL *handle, ccurl_io_cb cb) {
    return curl_easy_setopt(handle, CURLOPT_READFUNCTION, cb);
}
CURLcode ccurl_setopt_write_cb(CURL *handle, ccurl_io_cb cb) {
    return curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, cb);
}
CURLcode ccurl_setopt_header_cb(CURL *handle, ccurl_io_cb cb) {
    return curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, cb);
}
CURLcode ccurl_setopt_xferinfo_cb(CURL *handle, ccurl_xferinfo_cb cb) {
    return curl_easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, cb);
}
CURLcode ccurl_setopt_seek_cb(CURL *handle, ccurl_seek_cb cb) {
    return curl_easy_setopt(handle, CURLOPT_SEEKFUNCTION, cb);
}

CURLcode ccurl_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}
CURLcode ccurl_getinfo_off_t(CURL *handle, CURLINFO info, curl_off_t *value) {
    return curl_easy_getinfo(handle, info, value);
}
CURLcode ccurl_getinfo_double(CURL *handle, CURLINFO info, double *value) {
    return curl_easy_getinfo(handle, info, value);
}
CURLcode ccurl_getinfo_str(CURL *handle, CURLINFO info, const char **value) {
    return curl_easy_getinfo(handle, info, value);
}
CURLcode ccurl_getinfo_ptr(CURL *handle, CURLINFO info, void **value) {
    return curl_easy_getinfo(handle, info, value);
}

CURLMcode ccurl_multi_setopt_long(CURLM *multi, CURLMoption option, long value) {
    return curl_multi_setopt(multi, option, value);
}

CURLcode ccurl_setopt_upload_buffer_size(CURL *handle, long bytes) {
#if LIBCURL_VERSION_NUM >= 0x073E00
    return curl_easy_setopt(handle, CURLOPT_UPLOAD_BUFFERSIZE, bytes);
#else
    (void)handle;
    (void)bytes;
    return CURLE_UNKNOWN_OPTION;
#endif
}

const long ccurl_readfunc_abort = CURL_READFUNC_ABORT;
const size_t ccurl_writefunc_pause = CURL_WRITEFUNC_PAUSE;
const long ccurl_version_num = LIBCURL_VERSION_NUM;

int ccurl_has_ca_cache_timeout(void) {
#if LIBCURL_VERSION_NUM >= 0x075700
    return 1;
#else
    return 0;
#endif
}

#include <signal.h>
#include <string.h>

static volatile sig_atomic_t agent_caught_signal = 0;

static void agent_signal_handler(int sig) { agent_caught_signal = sig; }

void agent_signals_install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = agent_signal_handler;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int agent_signals_caught(void) { return (int)agent_caught_signal; }
