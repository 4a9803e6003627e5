/* util.c: see util.h. */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int64_t srv_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}

int64_t srv_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int fsync_dir_of(const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash) {
        strcpy(dir, ".");
    } else {
        size_t n = (size_t)(slash - path);
        if (n == 0) n = 1;               /* "/file" */
        if (n >= sizeof dir) { errno = ENAMETOOLONG; return -1; }
        memcpy(dir, path, n);
        dir[n] = 0;
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int srv_write_file_atomic(const char *path, const void *data, size_t len, unsigned mode)
{
    char tmp[PATH_MAX];
    static unsigned long counter;   /* uniqueness within the process */
    unsigned long c = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld.%lu", path, (long)getpid(), c) >= (int)sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, (mode_t)mode);
    if (fd < 0) return -1;
    const uint8_t *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR) continue;
            goto fail;
        }
        p += w;
        left -= (size_t)w;
    }
    if (fchmod(fd, (mode_t)mode) != 0) goto fail;   /* umask must not widen or narrow it */
    if (fsync(fd) != 0) goto fail;
    if (close(fd) != 0) { fd = -1; goto fail; }
    fd = -1;
    if (rename(tmp, path) != 0) goto fail;
    return fsync_dir_of(path);
fail:;
    int e = errno;
    if (fd >= 0) close(fd);
    unlink(tmp);
    errno = e;
    return -1;
}

uint8_t *srv_read_file(const char *path, size_t cap, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NULL;
    struct stat st;
    if (fstat(fd, &st) != 0) { int e = errno; close(fd); errno = e; return NULL; }
    if (!S_ISREG(st.st_mode)) { close(fd); errno = EINVAL; return NULL; }
    if ((uint64_t)st.st_size > cap) { close(fd); errno = EFBIG; return NULL; }
    size_t n = (size_t)st.st_size;
    uint8_t *buf = malloc(n + 1);
    if (!buf) { close(fd); errno = ENOMEM; return NULL; }
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0) {
            if (errno == EINTR) continue;
            int e = errno; free(buf); close(fd); errno = e; return NULL;
        }
        if (r == 0) break;   /* shrank under us: return what is there */
        got += (size_t)r;
    }
    close(fd);
    buf[got] = 0;
    *len = got;
    return buf;
}

/* ---- srv_buf ------------------------------------------------------------ */

static int buf_reserve(srv_buf *b, size_t extra)
{
    if (b->failed) return -1;
    if (b->limit && (extra > b->limit || b->len > b->limit - extra)) { b->failed = true; return -1; }
    size_t need = b->len + extra + 1;
    if (need <= b->cap) return 0;
    size_t nc = b->cap ? b->cap : 256;
    while (nc < need) nc *= 2;
    char *nd = realloc(b->data, nc);
    if (!nd) { b->failed = true; return -1; }
    b->data = nd;
    b->cap = nc;
    return 0;
}

int srv_buf_add(srv_buf *b, const void *data, size_t len)
{
    if (buf_reserve(b, len) != 0) return -1;
    if (len) memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = 0;
    return 0;
}

int srv_buf_addstr(srv_buf *b, const char *s)
{
    return srv_buf_add(b, s, strlen(s));
}

int srv_buf_printf(srv_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) { b->failed = true; return -1; }
    if ((size_t)n < sizeof small) return srv_buf_add(b, small, (size_t)n);
    if (buf_reserve(b, (size_t)n) != 0) return -1;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

int srv_buf_json_str(srv_buf *b, const char *s)
{
    static const char hexd[] = "0123456789abcdef";
    if (srv_buf_add(b, "\"", 1) != 0) return -1;
    const unsigned char *p = (const unsigned char *)s;
    const unsigned char *run = p;
    for (; *p; p++) {
        unsigned char c = *p;
        if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f) continue;
        srv_buf_add(b, run, (size_t)(p - run));
        char esc[7];
        switch (c) {
        case '"':  srv_buf_add(b, "\\\"", 2); break;
        case '\\': srv_buf_add(b, "\\\\", 2); break;
        case '\n': srv_buf_add(b, "\\n", 2); break;
        case '\r': srv_buf_add(b, "\\r", 2); break;
        case '\t': srv_buf_add(b, "\\t", 2); break;
        default:
            esc[0] = '\\'; esc[1] = 'u'; esc[2] = '0'; esc[3] = '0';
            esc[4] = hexd[c >> 4]; esc[5] = hexd[c & 15];
            srv_buf_add(b, esc, 6);
        }
        run = p + 1;
    }
    srv_buf_add(b, run, (size_t)(p - run));
    return srv_buf_add(b, "\"", 1);
}

void srv_buf_free(srv_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->failed = false;
}

/* ---- validation ---------------------------------------------------------- */

bool srv_valid_name(const char *s, size_t len, size_t max)
{
    if (!s || len == 0 || len > max) return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '.' || c == '_' || c == '-')
            continue;
        return false;
    }
    return true;
}

bool srv_valid_hex(const char *s, size_t len, bool lower_only)
{
    if (!s) return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) continue;
        if (!lower_only && c >= 'A' && c <= 'F') continue;
        return false;
    }
    return true;
}

/* ---- strmap -------------------------------------------------------------- */

uint64_t srv_hash_bytes(const void *data, size_t len)
{
    /* FNV-1a 64 with a final mix; keys are not attacker-chosen in bulk
     * (device ids are bounded and the map resizes at 50% load). */
    const unsigned char *p = data;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++) { h ^= p[i]; h *= 1099511628211ULL; }
    h ^= h >> 33; h *= 0xff51afd7ed558ccdULL; h ^= h >> 33;
    return h;
}

static srv_map_entry *map_find(const srv_map *m, const char *key, size_t klen, uint64_t h)
{
    size_t mask = m->cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        srv_map_entry *e = &m->slots[i];
        if (!e->key) return e;
        if (e->hash == h && strlen(e->key) == klen && memcmp(e->key, key, klen) == 0) return e;
    }
}

#ifdef SRV_FAULT_INJECTION
static bool map_find_existing(const srv_map *m, const char *key, size_t klen)
{
    return m->cap && srv_map_get(m, key, klen) != NULL;
}
#endif

void *srv_map_get(const srv_map *m, const char *key, size_t klen)
{
    if (m->cap == 0) return NULL;
    srv_map_entry *e = map_find(m, key, klen, srv_hash_bytes(key, klen));
    return e->key ? e->value : NULL;
}

static int map_grow(srv_map *m)
{
    size_t nc = m->cap ? m->cap * 2 : 16;
    srv_map_entry *ns = calloc(nc, sizeof *ns);
    if (!ns) return -1;
    srv_map old = *m;
    m->slots = ns;
    m->cap = nc;
    for (size_t i = 0; i < old.cap; i++) {
        if (!old.slots[i].key) continue;
        srv_map_entry *e = map_find(m, old.slots[i].key, strlen(old.slots[i].key), old.slots[i].hash);
        *e = old.slots[i];
    }
    free(old.slots);
    return 0;
}

void *srv_map_put(srv_map *m, const char *key, size_t klen, void *value, bool *failed)
{
#ifdef SRV_FAULT_INJECTION
    /* Test build only (build/bin/otad-faults): an insert of a new key that
     * contains $OTAD_FAIL_MAP_PUT fails as if memory ran out. */
    const char *f = getenv("OTAD_FAIL_MAP_PUT");
    if (f && *f && memmem(key, klen, f, strlen(f)) && !map_find_existing(m, key, klen)) {
        if (failed) *failed = true;
        return NULL;
    }
#endif
    if ((m->count + 1) * 2 > m->cap && map_grow(m) != 0) {
        if (failed) *failed = true;
        return NULL;
    }
    uint64_t h = srv_hash_bytes(key, klen);
    srv_map_entry *e = map_find(m, key, klen, h);
    if (e->key) {
        void *old = e->value;
        e->value = value;
        return old;
    }
    char *k = malloc(klen + 1);
    if (!k) { if (failed) *failed = true; return NULL; }
    memcpy(k, key, klen);
    k[klen] = 0;
    e->key = k;
    e->hash = h;
    e->value = value;
    m->count++;
    return NULL;
}

void srv_map_each(const srv_map *m, void (*fn)(const char *key, void *value, void *arg), void *arg)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key) fn(m->slots[i].key, m->slots[i].value, arg);
}

void srv_map_free(srv_map *m)
{
    for (size_t i = 0; i < m->cap; i++) free(m->slots[i].key);
    free(m->slots);
    m->slots = NULL;
    m->cap = m->count = 0;
}
