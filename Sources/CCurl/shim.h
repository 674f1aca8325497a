#ifndef OFFSITE_CCURL_SHIM_H
#define OFFSITE_CCURL_SHIM_H
#include <curl/curl.h>
#endif
