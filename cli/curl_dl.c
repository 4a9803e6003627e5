/*
 * curl_dl.c: see curl_dl.h.
 */
#include <dlfcn.h>
#include <stddef.h>
#include "curl_dl.h"
#include "util.h"

#ifndef OTA_CURL_SONAME
#define OTA_CURL_SONAME "libcurl.so.4"
#endif

const otc_curl_api *otc_curl(void)
{
    static otc_curl_api api;
    static int state;   /* 0 not tried, 1 loaded, -1 failed */
    if (state) return state > 0 ? &api : NULL;
    state = -1;
    void *lib = dlopen(OTA_CURL_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        util_err("cannot load libcurl (%s): %s; install Debian's libcurl4", OTA_CURL_SONAME, dlerror());
        return NULL;
    }
    CURLcode (*global_init)(long) = NULL;
    struct { const char *name; void **slot; } sym[] = {
        { "curl_global_init", (void **)&global_init },
        { "curl_easy_init", (void **)&api.easy_init },
        { "curl_easy_setopt", (void **)&api.easy_setopt },
        { "curl_easy_perform", (void **)&api.easy_perform },
        { "curl_easy_getinfo", (void **)&api.easy_getinfo },
        { "curl_easy_cleanup", (void **)&api.easy_cleanup },
        { "curl_easy_strerror", (void **)&api.easy_strerror },
        { "curl_slist_append", (void **)&api.slist_append },
        { "curl_slist_free_all", (void **)&api.slist_free_all },
    };
    for (size_t i = 0; i < sizeof sym / sizeof sym[0]; i++) {
        *sym[i].slot = dlsym(lib, sym[i].name);
        if (!*sym[i].slot) {
            util_err("cannot load libcurl (%s): no %s", OTA_CURL_SONAME, sym[i].name);
            return NULL;
        }
    }
    if (global_init(CURL_GLOBAL_DEFAULT) != 0) { util_err("cannot start libcurl"); return NULL; }
    state = 1;
    return &api;
}
