/*
 * curl_dl.h: libcurl, loaded when a command first talks HTTP.
 *
 * Linking libcurl pulls in about 30 shared libraries (TLS, Kerberos, LDAP,
 * SSH, ...) that the loader maps and relocates at every start: 14 ms of CPU
 * per run here, against 2 ms without them.  Most otasign commands (keygen,
 * release, minify, verify, inspect, sign, keyset) never use it, so otasign
 * loads it with dlopen on first use instead (client.c, cmd_device.c).
 */
#ifndef OTA_CURL_DL_H
#define OTA_CURL_DL_H

#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>

typedef struct otc_curl_api {
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *h, CURLoption o, ...);
    CURLcode (*easy_perform)(CURL *h);
    CURLcode (*easy_getinfo)(CURL *h, CURLINFO i, ...);
    void (*easy_cleanup)(CURL *h);
    const char *(*easy_strerror)(CURLcode e);
    struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
    void (*slist_free_all)(struct curl_slist *l);
} otc_curl_api;

/* Loads libcurl (its soname as the build found it, OTA_CURL_SONAME) and runs
 * curl_global_init once.  NULL, after an error message, when it cannot. */
const otc_curl_api *otc_curl(void);

#endif
