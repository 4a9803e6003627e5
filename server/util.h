/*
 * util.h: small helpers of otad, none of them HTTP- or SQL-specific.
 *
 *   time        srv_now (seconds), srv_now_ns (monotonic ns)
 *   files       srv_write_file_atomic (temp + fsync + rename), srv_read_file
 *   buffers     srv_buf: growable byte buffer with a hard cap
 *   names       srv_valid_name (device ids, app names), srv_valid_hex
 *   strmap      string -> pointer hash map (open addressing, grows)
 */
#ifndef SRV_UTIL_H
#define SRV_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdarg.h>

/* Wall clock, seconds since the epoch. */
int64_t srv_now(void);
/* Monotonic clock in nanoseconds (for durations and deadlines). */
int64_t srv_now_ns(void);

/* Write len bytes to path atomically: a temp file in the same directory,
 * fsync, rename over path, fsync of the directory.  mode is the file mode
 * (0600 for secrets).  Returns 0, or -1 with errno set (no file left behind). */
int srv_write_file_atomic(const char *path, const void *data, size_t len, unsigned mode);

/* Read a whole file of at most cap bytes into a malloc'd buffer (NUL added
 * after the data, not counted).  Returns the buffer (caller frees) and sets
 * *len, or NULL (errno set; EFBIG when larger than cap). */
uint8_t *srv_read_file(const char *path, size_t cap, size_t *len);

/* Growable byte buffer with a hard cap.  All fields are public. */
typedef struct srv_buf {
    char  *data;   /* malloc'd, always NUL-terminated when non-NULL */
    size_t len;    /* bytes used */
    size_t cap;    /* bytes allocated */
    size_t limit;  /* hard cap on len; 0 = none */
    bool   failed; /* sticky: an append ran over the limit or out of memory */
} srv_buf;

/* Append len bytes; returns 0, or -1 (and sets failed) when over the limit. */
int srv_buf_add(srv_buf *b, const void *data, size_t len);
int srv_buf_addstr(srv_buf *b, const char *s);
int srv_buf_printf(srv_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append s as a JSON string literal (with the quotes), escaping as needed. */
int srv_buf_json_str(srv_buf *b, const char *s);
void srv_buf_free(srv_buf *b);

/* Names of devices and apps: 1..max characters from [A-Za-z0-9._-]. */
bool srv_valid_name(const char *s, size_t len, size_t max);
/* Exactly len hex digits (len given by the caller), lower case only when
 * lower_only is set. */
bool srv_valid_hex(const char *s, size_t len, bool lower_only);

/* String-keyed hash map; keys are copied, values are caller pointers.
 * Not thread-safe: callers lock. */
typedef struct srv_map_entry {
    char *key;      /* NULL = empty slot */
    void *value;
    uint64_t hash;
} srv_map_entry;

typedef struct srv_map {
    srv_map_entry *slots;
    size_t cap;     /* power of two, or 0 */
    size_t count;
} srv_map;

/* Look up key (klen bytes); NULL when absent. */
void *srv_map_get(const srv_map *m, const char *key, size_t klen);
/* Insert or replace; returns the previous value (or NULL).  *failed is set
 * on out-of-memory (may be NULL). */
void *srv_map_put(srv_map *m, const char *key, size_t klen, void *value, bool *failed);
/* strdup for an entry of an in-memory table (allow list, pins); NULL when
 * out of memory, or in the fault-injection build when s contains
 * $OTAD_FAIL_MAP_PUT (see srv_map_put). */
char *srv_strdup_entry(const char *s);
/* Call fn for every entry. */
void srv_map_each(const srv_map *m, void (*fn)(const char *key, void *value, void *arg), void *arg);
/* Free the keys and the table (not the values; use srv_map_each first). */
void srv_map_free(srv_map *m);

uint64_t srv_hash_bytes(const void *data, size_t len);

#endif
