/*
 * http.c: libmicrohttpd glue.
 *
 * Rules every response follows (Espruino's http client and GSM modems):
 *   - every response with a body is made from a buffer or a file of known
 *     size, so it carries Content-Length and is never chunked;
 *   - header names have one fixed casing (Content-Type, ETag, ...);
 *   - "Connection: close" from the client is honoured by MHD;
 *   - the server enforces its own time limits: an idle timeout
 *     (MHD_OPTION_CONNECTION_TIMEOUT) and a deadline for receiving a request
 *     (the reaper, below), plus connection limits in total and per IP.
 *
 * Keep-alive: a handler that queues its response on the first callback
 * (before MHD has finished with the request headers) makes MHD close the
 * connection afterwards; we always return on the first call and answer on
 * the second one.
 *
 * Hostile clients (issue 12): everything that decides whether a request may
 * send a body is decided on the first handler call, from the headers alone,
 * because libmicrohttpd 0.9.75 can queue a response only then or after the
 * whole body: the admin token (401 before any body byte is read), the
 * route's body limit (413 from Content-Length), chunked bodies (411: every
 * body must say its length), bodies on GET/HEAD (400), a NUL decoded from
 * the path or a query value (400).  Connection limits in total and per
 * client address are ours, not libmicrohttpd's, so that a connection over a
 * limit gets an immediate 503 JSON answer instead of a silent close.
 *
 * The reaper: MHD's timeout is an idle timeout, so a client sending a byte a
 * second would hold a connection forever.  Each connection records when it
 * started waiting for a request (at accept, and after each response); the
 * main loop calls srv_http_reap() every second, which answers 408 and shuts
 * down the socket of any connection that has been receiving one request for
 * longer than --request-timeout.  The phase field is claimed by
 * compare-and-swap, so a connection is either handled or reaped, never both.
 */
#include "otad.h"
#include "request.h"
#include "ui.h"                 /* the dashboard (i16 hook) */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <linux/tcp.h>          /* struct tcp_info with the byte counters (data cost) */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { PH_READING = 0, PH_BUSY = 1, PH_KILLED = 2, PH_BODY = 3 };

struct srv_conn {
    srv_conn *prev, *next;         /* registry (conn_mu) */
    int fd;
    _Atomic int phase;             /* PH_* */
    _Atomic int64_t phase_ns;      /* when the current phase began */
    int64_t req_ns;                /* when the current request's handler began */
    srv_buf body;                  /* request body of the current request */
    bool too_big;                  /* body went over its limit */
    bool has_body;                 /* method carries a body (POST/PATCH/PUT) */
    int64_t body_deadline_ns;      /* the body must be in by then */
    unsigned nreq;                 /* requests answered on this connection */
    bool bad_nul;                  /* a %00 in the path or a query value */
    bool linger;                   /* answered before its body was read: close lingering */
    uint8_t addr[16];              /* client address (IPv6: the /64 counts) */
    uint8_t addr_len;
    char ip[INET6_ADDRSTRLEN];
    uint64_t tx_base;              /* bytes given to the socket before this request (data cost) */
    srv_cost_tag tag;              /* what the route said this request is (cls -1: not counted) */
    struct MHD_Response *shared;   /* the answer, when it is one shared between requests */
    uint8_t variant;               /* what else shapes its bytes (see shared_cache) */
};

static unsigned conn_count;        /* connections in the registry (conn_mu) */

static pthread_mutex_t conn_mu = PTHREAD_MUTEX_INITIALIZER;
static srv_conn *conn_head;

/* ---- lingering close (RFC 9112 9.6) -----------------------------------------
 * A connection answered before the client finished sending (a 401, 411 or
 * 413 on the headers alone, a 408 or 503 of our own) still has request bytes
 * on the way.  Closing it with unread bytes makes the kernel send a reset,
 * which can reach the client before it has read the answer: curl, still
 * sending, then reports a send failure instead of the 401 (seen about 1 in
 * 20 unauthenticated 16 MB uploads, 1 in 4 with four at once).  So when such
 * a connection closes, otad keeps a duplicate of its socket, half-closes it
 * (the answer is followed by a FIN) and discards what still arrives for
 * LINGER_S seconds or until the client closes, then closes it.  At most
 * LINGER_MAX sockets linger; past that a connection closes as before. */
#define LINGER_MAX 64
#define LINGER_S 2
#define LINGER_TICK_BYTES (1u << 20)     /* discarded per socket per second at most */
static struct { int fd; int64_t until_ns; } lingering[LINGER_MAX];
static unsigned n_lingering;               /* conn_mu */

static void linger_start(int fd)           /* with conn_mu held */
{
    if (fd < 0 || n_lingering >= LINGER_MAX) return;
    int d = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (d < 0) return;
    int fl = fcntl(d, F_GETFL);
    if (fl < 0 || fcntl(d, F_SETFL, fl | O_NONBLOCK) < 0 || shutdown(d, SHUT_WR) != 0) {
        close(d);
        return;
    }
    lingering[n_lingering].fd = d;
    lingering[n_lingering].until_ns = srv_now_ns() + (int64_t)LINGER_S * 1000000000LL;
    n_lingering++;
    SRV_ADD(conns_lingered, 1);
}

/* Discard what arrived; close the sockets whose client closed or whose time
 * is up (all of them when `all`). */
static void linger_tick(bool all)          /* with conn_mu held */
{
    int64_t now = srv_now_ns();
    static char sink[65536];
    for (unsigned i = 0; i < n_lingering;) {
        bool done = all || now >= lingering[i].until_ns;
        for (size_t got = 0; !done && got < LINGER_TICK_BYTES;) {
            ssize_t r = recv(lingering[i].fd, sink, sizeof sink, MSG_DONTWAIT);
            if (r > 0) { got += (size_t)r; continue; }
            if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
            if (r < 0 && errno == EINTR) continue;
            done = true;                   /* the client closed, or an error */
        }
        if (!done) { i++; continue; }
        close(lingering[i].fd);
        lingering[i] = lingering[--n_lingering];
    }
}

/* ---- request log: one line per request, buffered, flushed each second ----
 * Each thread appends to its own buffer (its own lock, almost never
 * contended); the main loop writes every buffer out once a second; a
 * thread whose buffer is full writes it itself. */

typedef struct log_tl {
    struct log_tl *next;
    pthread_mutex_t mu;
    size_t len;
    char buf[32768];
} log_tl;

static pthread_mutex_t log_list_mu = PTHREAD_MUTEX_INITIALIZER;
static log_tl *log_list;
static _Thread_local log_tl *log_mine;

static void log_write_locked(log_tl *l)
{
    size_t off = 0;
    while (off < l->len) {
        ssize_t w = write(STDERR_FILENO, l->buf + off, l->len - off);
        if (w < 0) { if (errno == EINTR) continue; break; }
        off += (size_t)w;
    }
    l->len = 0;
}

void srv_log_flush(void)
{
    pthread_mutex_lock(&log_list_mu);
    for (log_tl *l = log_list; l; l = l->next) {
        pthread_mutex_lock(&l->mu);
        log_write_locked(l);
        pthread_mutex_unlock(&l->mu);
    }
    pthread_mutex_unlock(&log_list_mu);
}

static void log_append(const char *line, size_t n)
{
    log_tl *l = log_mine;
    if (!l) {
        l = calloc(1, sizeof *l);
        if (!l) return;
        pthread_mutex_init(&l->mu, NULL);
        pthread_mutex_lock(&log_list_mu);
        l->next = log_list;
        log_list = l;
        pthread_mutex_unlock(&log_list_mu);
        log_mine = l;
    }
    pthread_mutex_lock(&l->mu);
    if (l->len + n > sizeof l->buf) log_write_locked(l);
    memcpy(l->buf + l->len, line, n);
    l->len += n;
    pthread_mutex_unlock(&l->mu);
}

void srv_log_free(void)
{
    srv_log_flush();
    pthread_mutex_lock(&log_list_mu);
    while (log_list) {
        log_tl *l = log_list;
        log_list = l->next;
        pthread_mutex_destroy(&l->mu);
        free(l);
    }
    pthread_mutex_unlock(&log_list_mu);
}

/* The timestamp text changes once a second: format it once per second per
 * thread, not once per request. */
static const char *log_stamp(void)
{
    static _Thread_local time_t stamp_sec = -1;
    static _Thread_local char stamp[32];
    time_t now = time(NULL);
    if (now != stamp_sec) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
        stamp_sec = now;
    }
    return stamp;
}

static void log_request(srv_req *q)
{
    if (g_srv.cfg.quiet) return;
    char line[600];
    const char *stamp = log_stamp();
    long us = q->conn ? (long)((srv_now_ns() - q->conn->req_ns) / 1000) : 0;
    int n = snprintf(line, sizeof line, "%s %s %s %.400s %u %llu %ldus\n", stamp,
                     q->conn ? q->conn->ip : "-", q->method, q->url, q->status,
                     (unsigned long long)q->reply_len, us);
    if (n < 0) return;
    if ((size_t)n >= sizeof line) n = sizeof line - 1;
    /* Control characters in the URL would forge log lines. */
    for (int i = 0; i < n - 1; i++)
        if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f) line[i] = '?';
    log_append(line, (size_t)n);
}

/* ---- replies ------------------------------------------------------------ */

/* The Date header: libmicrohttpd's own is turned off
 * (MHD_USE_SUPPRESS_DATE_NO_CLOCK) so that the compact device answers can go
 * without one (a board has no clock and never reads it: 37 bytes a poll);
 * every response made per request gets this one instead, formatted once a
 * second per thread.  The shared responses (the 204s, a whole bundle) carry
 * none (FORMAT.md 6b says why that is harmless). */
static const char *date_value(void)
{
    static const char dn[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
    static const char mn[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    static _Thread_local time_t date_sec = -1;
    static _Thread_local char date[40];
    time_t now = time(NULL);
    if (now != date_sec) {
        struct tm tm;
        gmtime_r(&now, &tm);
        snprintf(date, sizeof date, "%s, %02d %s %04d %02d:%02d:%02d GMT", dn[tm.tm_wday % 7],
                 tm.tm_mday, mn[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
        date_sec = now;
    }
    return date;
}

enum MHD_Result srv_reply_shared(srv_req *q, unsigned status, struct MHD_Response *r, uint64_t len)
{
    if (!r) {
        SRV_ADD(status[5], 1);
        return MHD_NO;
    }
    q->status = status;
    q->reply_len = q->head ? 0 : len;
    if (q->conn) q->conn->shared = r;   /* srv_reply clears it: its answers are its own */
    enum MHD_Result ret = MHD_queue_response(q->c, status, r);
    unsigned cls = status / 100;
    if (cls >= 1 && cls <= 5) SRV_ADD(status[cls], 1);
    log_request(q);
    return ret;
}

enum MHD_Result srv_reply(srv_req *q, unsigned status, struct MHD_Response *r, uint64_t len)
{
    if (r && !q->compact) MHD_add_response_header(r, "Date", date_value());
    enum MHD_Result ret = srv_reply_shared(q, status, r, len);
    if (q->conn) q->conn->shared = NULL;
    if (r) MHD_destroy_response(r);
    return ret;
}

enum MHD_Result srv_reply_text(srv_req *q, unsigned status, const char *ctype, const char *t,
                               size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)t, MHD_RESPMEM_MUST_COPY);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, "Content-Type", ctype);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    return srv_reply(q, status, r, len);
}

enum MHD_Result srv_reply_json(srv_req *q, unsigned status, const char *json, size_t len)
{
    return srv_reply_text(q, status, "application/json", json, len);
}

enum MHD_Result srv_reply_buf(srv_req *q, unsigned status, srv_buf *b)
{
    if (b->failed) {
        srv_buf_free(b);
        return srv_reply_error(q, 500, "internal", "response too large or out of memory");
    }
    struct MHD_Response *r = MHD_create_response_from_buffer(b->len, b->data, MHD_RESPMEM_MUST_FREE);
    if (!r) { srv_buf_free(b); return MHD_NO; }
    size_t len = b->len;
    b->data = NULL;   /* MHD owns it now */
    srv_buf_free(b);
    MHD_add_response_header(r, "Content-Type", "application/json");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    return srv_reply(q, status, r, len);
}

enum MHD_Result srv_reply_error(srv_req *q, unsigned status, const char *code, const char *msg)
{
    srv_buf b = {0};
    srv_buf_addstr(&b, "{\"error\":");
    srv_buf_json_str(&b, code);
    srv_buf_addstr(&b, ",\"message\":");
    srv_buf_json_str(&b, msg);
    srv_buf_addstr(&b, "}\n");
    if (status >= 400 && status < 500) SRV_ADD(bad_requests, 1);
    if (b.failed) { srv_buf_free(&b); return MHD_NO; }
    enum MHD_Result r = srv_reply_json(q, status, b.data, b.len);
    srv_buf_free(&b);
    return r;
}

const char *srv_query(srv_req *q, const char *key)
{
    return MHD_lookup_connection_value(q->c, MHD_GET_ARGUMENT_KIND, key);
}

const char *srv_header(srv_req *q, const char *key)
{
    return MHD_lookup_connection_value(q->c, MHD_HEADER_KIND, key);
}

/* ---- connections ----------------------------------------------------------- */

#define REAP_BODY "{\"error\":\"timeout\",\"message\":\"request not received in time\"}\n"
static char reap_reply[256];
static size_t reap_reply_len;
#define BUSY_BODY "{\"error\":\"busy\",\"message\":\"too many connections; retry later\"}\n"
#define BUSY_IP_BODY "{\"error\":\"busy\",\"message\":\"too many connections from this address; retry later\"}\n"
#define CANNED(body) "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n" \
    "Cache-Control: no-store\r\nRetry-After: 30\r\nConnection: close\r\nContent-Length: "
static char busy_reply[256], busy_ip_reply[256];


static void notify_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                              enum MHD_ConnectionNotificationCode code)
{
    (void)cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        srv_conn *cn = calloc(1, sizeof *cn);
        if (cn) cn->tag.cls = -1;
        if (!cn) return;   /* handler refuses connections without context */
        const union MHD_ConnectionInfo *fi = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        cn->fd = fi ? fi->connect_fd : -1;
        const union MHD_ConnectionInfo *ai = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        snprintf(cn->ip, sizeof cn->ip, "-");
        if (ai && ai->client_addr) {
            const struct sockaddr *sa = ai->client_addr;
            if (sa->sa_family == AF_INET) {
                const struct sockaddr_in *a4 = (const struct sockaddr_in *)sa;
                inet_ntop(AF_INET, &a4->sin_addr, cn->ip, sizeof cn->ip);
                memcpy(cn->addr, &a4->sin_addr, 4);
                cn->addr_len = 4;
            } else if (sa->sa_family == AF_INET6) {
                const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)sa;
                inet_ntop(AF_INET6, &a6->sin6_addr, cn->ip, sizeof cn->ip);
                /* One subscriber gets a /64: count the prefix, not the address. */
                memcpy(cn->addr, &a6->sin6_addr, 8);
                cn->addr_len = 8;
            }
        }
        atomic_store(&cn->phase, PH_READING);
        atomic_store(&cn->phase_ns, srv_now_ns());
        pthread_mutex_lock(&conn_mu);
        unsigned same = 0;
        for (srv_conn *o = conn_head; o; o = o->next)
            if (o->addr_len == cn->addr_len && memcmp(o->addr, cn->addr, cn->addr_len) == 0) same++;
        bool over = conn_count >= g_srv.cfg.max_connections || same >= g_srv.cfg.max_per_ip;
        bool per_ip = same >= g_srv.cfg.max_per_ip;
        cn->next = conn_head;
        if (conn_head) conn_head->prev = cn;
        conn_head = cn;
        conn_count++;
        if (over) {
            /* Over a limit: a complete answer now, then close.  MHD has not
             * read or written anything on this socket yet. */
            atomic_store(&cn->phase, PH_KILLED);
            if (cn->fd >= 0) {
                const char *r = per_ip ? busy_ip_reply : busy_reply;
                ssize_t w = send(cn->fd, r, strlen(r), MSG_NOSIGNAL | MSG_DONTWAIT);
                (void)w;
                shutdown(cn->fd, SHUT_RDWR);
                cn->linger = true;
            }
        }
        pthread_mutex_unlock(&conn_mu);
        *socket_context = cn;
        SRV_ADD(conns_accepted, 1);
        SRV_ADD(conns_active, 1);
        if (over) SRV_ADD(conns_refused, 1);
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        srv_conn *cn = *socket_context;
        if (!cn) return;
        /* Unlinked before MHD closes the socket, so the reaper never
         * touches a descriptor number that may be reused. */
        pthread_mutex_lock(&conn_mu);
        if (cn->prev) cn->prev->next = cn->next;
        else conn_head = cn->next;
        if (cn->next) cn->next->prev = cn->prev;
        conn_count--;
        if (cn->linger) linger_start(cn->fd);
        pthread_mutex_unlock(&conn_mu);
        srv_buf_free(&cn->body);
        free(cn);
        *socket_context = NULL;
        SRV_SUB(conns_active, 1);
    }
}

/* Bytes handed to the kernel for this socket so far: sent (less
 * retransmissions) plus queued; with `queued` false, only those sent.  One
 * getsockopt, so one consistent snapshot.  false when the kernel does not
 * say (before Linux 4.19). */
static bool tcp_written(int fd, bool queued, uint64_t *out)
{
    struct tcp_info ti;
    socklen_t tl = sizeof ti;
    memset(&ti, 0, sizeof ti);
    if (fd < 0 || getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &tl) != 0 ||
        tl < offsetof(struct tcp_info, tcpi_bytes_retrans) + sizeof ti.tcpi_bytes_retrans)
        return false;
    *out = ti.tcpi_bytes_sent - ti.tcpi_bytes_retrans + (queued ? ti.tcpi_notsent_bytes : 0);
    return true;
}

/* What a shared answer (the 204s, the 202, a whole bundle) costs on the wire
 * is the same every time for the same request shape (HTTP version,
 * "Connection: close", HEAD): each thread measures it once with TCP_INFO and
 * then adds it without a system call (a poll is otad's most frequent
 * request, and a system call here costs about as much as the rest of the
 * bookkeeping).  Answers made per request are measured each time. */
#define SHARED_CACHE 16
typedef struct shared_cache { struct MHD_Response *r; uint8_t variant; uint64_t bytes; } shared_cache;
static _Thread_local shared_cache tl_shared[SHARED_CACHE];
static _Thread_local unsigned tl_shared_next;

static shared_cache *shared_find(struct MHD_Response *r, uint8_t variant)
{
    for (unsigned i = 0; i < SHARED_CACHE; i++)
        if (tl_shared[i].r == r && tl_shared[i].variant == variant) return &tl_shared[i];
    return NULL;
}

/* The request shape that decides a shared answer's bytes besides the answer. */
static uint8_t request_variant(srv_req *q)
{
    const char *h = srv_header(q, "Connection");
    bool close = false;
    for (const char *p = h; p && *p; p++)
        if (strncasecmp(p, "close", 5) == 0) { close = true; break; }
    bool v11 = q->version && strcmp(q->version, "HTTP/1.1") == 0;
    return (uint8_t)((close ? 1 : 0) | (v11 ? 0 : 2) | (q->head ? 4 : 0));
}

/* Data cost (cost.c): the request as read (request line, headers, the empty
 * line, the body) and the answer as written to the socket during it. */
static void cost_count(struct MHD_Connection *c, srv_conn *cn, enum MHD_RequestTerminationCode toe)
{
    bool done = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK;
    struct MHD_Response *shared = cn->shared;
    cn->shared = NULL;
    uint64_t tx = 0, base = cn->tx_base;
    shared_cache *sc = done && shared && cn->tag.cls >= 0 ? shared_find(shared, cn->variant) : NULL;
    bool ok = true;
    if (sc) {
        tx = base + sc->bytes;
        cn->tx_base = tx;
    } else {
        ok = tcp_written(cn->fd, done, &tx);
        if (ok) cn->tx_base = tx;
        if (ok && done && shared && cn->tag.cls >= 0 && tx >= base) {
            shared_cache *e = &tl_shared[tl_shared_next++ % SHARED_CACHE];
            e->r = shared;
            e->variant = cn->variant;
            e->bytes = tx - base;
        }
    }
    if (cn->tag.cls < 0) return;
    srv_cost_tag t = cn->tag;
    cn->tag.cls = -1;
    if (!ok || tx < base) return;
    const union MHD_ConnectionInfo *hi = MHD_get_connection_info(c, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
    const union MHD_ConnectionInfo *si = MHD_get_connection_info(c, MHD_CONNECTION_INFO_HTTP_STATUS);
    uint64_t rx = (hi ? hi->header_size : 0) + cn->body.len;
    srv_cost_note(&t, cn->ip, si ? si->http_status : 0, rx + (tx - base));
}

static void request_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                              enum MHD_RequestTerminationCode toe)
{
    (void)cls; (void)c; (void)toe;
    srv_conn *cn = *con_cls;
    if (!cn) return;
    cost_count(c, cn, toe);
    *con_cls = NULL;
    cn->body.len = 0;
    cn->body.failed = false;
    if (cn->body.cap > 65536) srv_buf_free(&cn->body);   /* don't keep big upload buffers */
    cn->too_big = false;
    SRV_SUB(in_flight, 1);
    cn->nreq++;
    cn->bad_nul = false;
    int busy = PH_BUSY;
    int body = PH_BODY;
    atomic_compare_exchange_strong(&cn->phase, &body, PH_BUSY);
    atomic_store(&cn->phase_ns, srv_now_ns());
    atomic_compare_exchange_strong(&cn->phase, &busy, PH_READING);
}



void srv_http_reap(void)
{
    int64_t now = srv_now_ns();
    int64_t limit = (int64_t)g_srv.cfg.request_timeout * 1000000000LL;
    pthread_mutex_lock(&conn_mu);
    linger_tick(false);
    int64_t first = (int64_t)g_srv.cfg.header_timeout * 1000000000LL;
    for (srv_conn *cn = conn_head; cn; cn = cn->next) {
        int ph = atomic_load(&cn->phase);
        if (ph == PH_READING) {
            /* A new connection must send its first request's headers
             * within --header-timeout; later ones (keep-alive) within
             * --request-timeout of the previous answer. */
            if (now - atomic_load(&cn->phase_ns) <= (cn->nreq ? limit : first)) continue;
        } else if (ph == PH_BODY) {
            if (now <= cn->body_deadline_ns) continue;
        } else {
            continue;
        }
        if (!atomic_compare_exchange_strong(&cn->phase, &ph, PH_KILLED)) continue;
        if (cn->fd >= 0) {
            /* MHD is only reading from this socket: a complete reply written
             * here cannot interleave with one of its own. */
            ssize_t w = send(cn->fd, reap_reply, reap_reply_len, MSG_NOSIGNAL | MSG_DONTWAIT);
            (void)w;
            shutdown(cn->fd, SHUT_RDWR);
            cn->linger = true;
        }
        SRV_ADD(conns_reaped, 1);
        if (!g_srv.cfg.quiet) {
            char line[160];
            int n = snprintf(line, sizeof line, "%s %s - (request not received in time) 408 0 -\n",
                             log_stamp(), cn->ip);
            if (n > 0) log_append(line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
        }
    }
    pthread_mutex_unlock(&conn_mu);
}

/* ---- routing --------------------------------------------------------------- */

static bool starts(const char *s, const char *p, const char **rest)
{
    size_t n = strlen(p);
    if (strncmp(s, p, n) != 0) return false;
    *rest = s + n;
    return true;
}

static enum MHD_Result route_to(srv_req *q);

/* Every request goes through here: what the route tags it with (data
 * cost) stays with the connection until the request is done. */
static enum MHD_Result route(srv_req *q)
{
    srv_cost_tag_clear();
    enum MHD_Result r = route_to(q);
    if (q->conn) {
        srv_cost_tag_take(&q->conn->tag);
        if (q->conn->tag.cls >= 0 && q->conn->shared) q->conn->variant = request_variant(q);
    } else {
        srv_cost_tag_clear();
    }
    return r;
}

static enum MHD_Result route_to(srv_req *q)
{
    const char *url = q->url, *rest;
    bool get = strcmp(q->method, "GET") == 0 || q->head;
    bool post = strcmp(q->method, "POST") == 0;
    SRV_ADD(requests, 1);
    if (starts(url, "/manifest/", &rest)) {
        if (!get) return srv_reply_error(q, 405, "method", "use GET");
        return srv_route_manifest(q, rest);
    }
    if (starts(url, "/m/", &rest)) {
        q->compact = true;
        if (!get) return srv_reply_error(q, 405, "method", "use GET");
        return srv_route_cpoll(q, rest);
    }
    if (starts(url, "/r/", &rest)) {
        q->compact = true;
        if (!post) return srv_reply_error(q, 405, "method", "use POST");
        return srv_route_creport(q, rest);
    }
    if (starts(url, "/b/", &rest)) {
        q->compact = true;
        if (!get) return srv_reply_error(q, 405, "method", "use GET or HEAD");
        return srv_route_bundle(q, rest);
    }
    if (starts(url, "/bundle/", &rest)) {
        if (!get) return srv_reply_error(q, 405, "method", "use GET or HEAD");
        return srv_route_bundle(q, rest);
    }
    if (starts(url, "/report/", &rest)) {
        if (!post) return srv_reply_error(q, 405, "method", "use POST");
        return srv_route_report(q, rest);
    }
    if (starts(url, "/admin/", &rest)) return srv_route_admin(q, rest);
    if (starts(url, "/ui", &rest) && (*rest == 0 || *rest == '/')) return srv_route_ui(q, rest);
    if (strcmp(url, "/healthz") == 0) {
        if (!get) return srv_reply_error(q, 405, "method", "use GET");
        return srv_route_healthz(q);
    }
    if (strcmp(url, "/metrics") == 0) {
        if (!get) return srv_reply_error(q, 405, "method", "use GET");
        return srv_route_metrics(q);
    }
    return srv_reply_error(q, 404, "not_found", "no such endpoint");
}

static enum MHD_Result reply_unauthorized(srv_req *q)
{
    static const char body[] =
        "{\"error\":\"unauthorized\",\"message\":\"Authorization: Bearer <admin token> required\"}\n";
    struct MHD_Response *r = MHD_create_response_from_buffer(sizeof body - 1, (void *)body,
                                                             MHD_RESPMEM_PERSISTENT);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "application/json");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "WWW-Authenticate", "Bearer");
    SRV_ADD(admin_requests, 1);
    SRV_ADD(admin_denied, 1);
    return srv_reply(q, 401, r, sizeof body - 1);
}

/* The body limit of a route: reports are small and fixed in shape, admin
 * uploads (releases) large, everything else takes no body. */
static size_t route_body_limit(const char *url, bool *admin)
{
    *admin = strncmp(url, "/admin/", 7) == 0;
    if (*admin) return g_srv.cfg.max_admin_body;
    if (strncmp(url, "/report/", 8) == 0 || strncmp(url, "/r/", 3) == 0) return g_srv.cfg.max_body;
    return 0;
}

/* First call: only the headers are in.  Decide here everything that must be
 * decided before a body byte is accepted (see the top of this file). */
static enum MHD_Result first_call(srv_req *q, srv_conn *cn, void **con_cls)
{
    /* An answer queued now ends the request: no body byte is read after it. */
#define EARLY(expr) do { cn->too_big = true; cn->linger = cn->linger || cn->has_body; \
                            SRV_ADD(requests, 1); return (expr); } while (0)
    struct MHD_Connection *c = q->c;
    const char *method = q->method, *url = q->url;
    cn->req_ns = srv_now_ns();
    atomic_store(&cn->phase_ns, cn->req_ns);
    cn->body.len = 0;
    cn->body.failed = false;
    cn->too_big = false;
    cn->has_body = strcmp(method, "POST") == 0 || strcmp(method, "PATCH") == 0 ||
                   strcmp(method, "PUT") == 0;
    bool admin;
    cn->body.limit = route_body_limit(url, &admin);
    cn->body_deadline_ns = cn->req_ns + (int64_t)(admin ? g_srv.cfg.upload_timeout
                                                        : g_srv.cfg.request_timeout) * 1000000000LL;
    *con_cls = cn;
    q->conn = cn;
    SRV_ADD(in_flight, 1);
    bool nul = cn->bad_nul;
    cn->bad_nul = false;
    if (nul) {
        EARLY(srv_reply_error(q, 400, "bad_request", "a NUL (%00) in the path or a query value"));
    }
    const char *te = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Transfer-Encoding");
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
    unsigned long long n = 0;
    if (cl) {
        char *end;
        errno = 0;
        n = strtoull(cl, &end, 10);
        if (errno || *end || cl[0] < '0' || cl[0] > '9') {
            EARLY(srv_reply_error(q, 400, "bad_request", "Content-Length: a decimal byte count"));
        }
    }
    if (!cn->has_body && (te || n > 0)) {
        EARLY(srv_reply_error(q, 400, "bad_request", "this method takes no body"));
    }
    /* A body for a route that takes none: the route's own answer (405 for
     * the wrong method), now, before the body. */
    if (cn->has_body && cn->body.limit == 0 && !admin) {
        cn->too_big = true;
        cn->linger = true;
        return route(q);
    }
    /* The admin token, from the headers, before any body byte. */
    if (admin && !srv_admin_authorized(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization"))) {
        EARLY(reply_unauthorized(q));
    }
    if (te) {
        /* A chunked body's size is known only at its end, when libmicrohttpd
         * no longer lets us answer early: every body must state its length. */
        EARLY(srv_reply_error(q, 411, "length_required",
                              "send the body with a Content-Length (no Transfer-Encoding)"));
    }
    if (n > cn->body.limit) {
        SRV_ADD(body_too_large, 1);
        EARLY(srv_reply_error(q, 413, "too_large", "request body over the limit"));
    }
    /* A body is coming: the reaper answers 408 if it is not in by the deadline. */
    if (n > 0) atomic_store(&cn->phase, PH_BODY);
    return MHD_YES;
#undef EARLY
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload_data,
                               size_t *upload_data_size, void **con_cls)
{
    (void)cls; (void)version;
    srv_req q = { .c = c, .method = method, .url = url, .version = version };
    q.head = strcmp(method, "HEAD") == 0;
    /* The compact device form (FORMAT.md 6b): its answers carry no Date,
     * early refusals (411, 413, 400) included. */
    q.compact = url[0] == '/' && (url[1] == 'm' || url[1] == 'r' || url[1] == 'b') && url[2] == '/';
    if (*con_cls == NULL) {
        /* First call: headers are in.  Claim the connection from the reaper
         * and come back for the (possibly empty) body. */
        const union MHD_ConnectionInfo *si = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        srv_conn *cn = si ? si->socket_context : NULL;
        if (!cn) return MHD_NO;
        int reading = PH_READING;
        if (!atomic_compare_exchange_strong(&cn->phase, &reading, PH_BUSY)) return MHD_NO;
        return first_call(&q, cn, con_cls);
    }
    srv_conn *cn = *con_cls;
    q.conn = cn;
    if (atomic_load(&cn->phase) == PH_KILLED) return MHD_NO;   /* the reaper answered 408 */
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (cn->too_big) return MHD_YES;   /* an answer is already queued */
        if (!cn->has_body || srv_buf_add(&cn->body, upload_data, n) != 0) {
            /* Content-Length was checked against the limit, so this cannot
             * happen; if it does, close rather than hold the bytes. */
            cn->too_big = true;
            SRV_ADD(body_too_large, 1);
            return MHD_NO;
        }
        return MHD_YES;
    }
    /* The whole body is in: take the connection back from the reaper. */
    int body = PH_BODY;
    if (!atomic_compare_exchange_strong(&cn->phase, &body, PH_BUSY) && body != PH_BUSY) return MHD_NO;
    if (cn->too_big) return MHD_YES;
    q.body = cn->body.data ? cn->body.data : "";
    q.body_len = cn->body.len;
    return route(&q);
}

/* Every %XX in the path and in query values is decoded here (instead of by
 * libmicrohttpd's default), so that a %00 is never decoded: the value
 * keeps "%00" and the request is answered 400 on the first handler call. */
static size_t unescape_cb(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    bool nul = false;
    size_t n = srv_unescape(s, &nul);
    if (nul) {
        const union MHD_ConnectionInfo *si = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        srv_conn *cn = si ? si->socket_context : NULL;
        if (cn) cn->bad_nul = true;
    }
    return n;
}

/* ---- start / stop -------------------------------------------------------------- */

int srv_http_start(void)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    /* TURBO: accept4() non-blocking, no shutdown() before close(); measured
     * to matter most for clients that open a connection per request. */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
                     MHD_USE_ERROR_LOG | MHD_USE_TURBO | MHD_USE_SUPPRESS_DATE_NO_CLOCK;
    if (getenv("OTAD_NO_TURBO")) flags &= ~(unsigned)MHD_USE_TURBO;
    if (inet_pton(AF_INET, g_srv.cfg.listen_host, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)g_srv.cfg.port);
        sl = sizeof *s4;
    } else if (inet_pton(AF_INET6, g_srv.cfg.listen_host, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)g_srv.cfg.port);
        sl = sizeof *s6;
        flags |= MHD_USE_IPv6;
    } else {
        fprintf(stderr, "otad: --listen: '%s' is not a numeric IPv4/IPv6 address\n",
                g_srv.cfg.listen_host);
        return -1;
    }
    (void)sl;
    int rn = snprintf(reap_reply, sizeof reap_reply,
                      "HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json\r\n"
                      "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                      strlen(REAP_BODY), REAP_BODY);
    reap_reply_len = rn > 0 ? (size_t)rn : 0;
    snprintf(busy_reply, sizeof busy_reply, CANNED(BUSY_BODY) "%zu\r\n\r\n%s", strlen(BUSY_BODY), BUSY_BODY);
    snprintf(busy_ip_reply, sizeof busy_ip_reply, CANNED(BUSY_IP_BODY) "%zu\r\n\r\n%s",
             strlen(BUSY_IP_BODY), BUSY_IP_BODY);
    /* The shared "nothing to do" answer: no body, no per-request work. */
    g_srv.resp_204 = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    char poll[32];
    snprintf(poll, sizeof poll, "%u", g_srv.cfg.poll_interval);
    MHD_add_response_header(g_srv.resp_204, "X-Poll-Interval", poll);
    MHD_add_response_header(g_srv.resp_204, "Cache-Control", "no-store");
    /* The compact form's answers (FORMAT.md 6b): only what a board reads or
     * a cache between it and otad must obey. */
    g_srv.resp_c204 = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    g_srv.resp_c202 = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    g_srv.resp_r204 = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!g_srv.resp_204 || !g_srv.resp_c204 || !g_srv.resp_c202 || !g_srv.resp_r204) {
        fprintf(stderr, "otad: out of memory\n");
        return -1;
    }
    MHD_add_response_header(g_srv.resp_c204, "Cache-Control", "no-store");
    MHD_add_response_header(g_srv.resp_c202, "Cache-Control", "no-store");

    /* Either one daemon with a pool of threads sharing one listening socket,
     * or (--reuseport) one single-threaded daemon per thread, each with its
     * own SO_REUSEPORT socket on the same port: the kernel then spreads new
     * connections, and no two threads wake for the same accept. */
    unsigned n = g_srv.cfg.reuseport ? g_srv.cfg.threads : 1;
    if (n > SRV_MAX_DAEMONS) n = SRV_MAX_DAEMONS;
    for (unsigned i = 0; i < n; i++) {
        if (i == 1) {
            /* Later listeners join the port the first one got. */
            if (ss.ss_family == AF_INET) s4->sin_port = htons((uint16_t)g_srv.bound_port);
            else s6->sin6_port = htons((uint16_t)g_srv.bound_port);
        }
        unsigned pool = g_srv.cfg.reuseport ? 1 : g_srv.cfg.threads;
        unsigned maxc = g_srv.cfg.max_connections / n ? g_srv.cfg.max_connections / n : 1;
        /* SO_REUSEADDR, so that a restart binds at once even with
         * connections of the previous process in TIME_WAIT (every
         * "Connection: close" client leaves one).  libmicrohttpd's
         * LISTENING_ADDRESS_REUSE would also set SO_REUSEPORT, letting a
         * second otad share the port silently; so, without --reuseport, the
         * socket is made here with SO_REUSEADDR alone. */
        int lfd = -1;
        if (!g_srv.cfg.reuseport) {
            lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
            int one = 1;
            if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
                (ss.ss_family == AF_INET6 &&
                 setsockopt(lfd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0) ||
                bind(lfd, (struct sockaddr *)&ss, ss.ss_family == AF_INET ? sizeof *s4 : sizeof *s6) != 0 ||
                listen(lfd, 1024) != 0) {
                fprintf(stderr, "otad: cannot listen on %s:%u: %s\n", g_srv.cfg.listen_host,
                        g_srv.cfg.port, strerror(errno));
                if (lfd >= 0) close(lfd);
                srv_http_stop();
                return -1;
            }
        }
        struct MHD_OptionItem opts[] = {
            { MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)(pool > 1 ? pool : 0), NULL },
            { MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)g_srv.cfg.idle_timeout, NULL },
            /* The limits are ours (notify_connection answers 503 above
             * them); libmicrohttpd's only stops accepting well past them. */
            { MHD_OPTION_CONNECTION_LIMIT, (intptr_t)(maxc + maxc / 4 + 16), NULL },
            { MHD_OPTION_CONNECTION_MEMORY_LIMIT, (intptr_t)SRV_CONN_MEMORY, NULL },
            { MHD_OPTION_UNESCAPE_CALLBACK, (intptr_t)unescape_cb, NULL },
            { MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)notify_connection, NULL },
            { MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)request_completed, NULL },
            /* the socket: ours, or libmicrohttpd's with SO_REUSEADDR + SO_REUSEPORT */
            { lfd >= 0 ? MHD_OPTION_LISTEN_SOCKET : MHD_OPTION_SOCK_ADDR,
              lfd >= 0 ? (intptr_t)lfd : 0, lfd >= 0 ? NULL : (void *)&ss },
            { lfd >= 0 ? MHD_OPTION_END : MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, NULL },
            { lfd >= 0 ? MHD_OPTION_END : MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024, NULL },
            { MHD_OPTION_END, 0, NULL },
        };
        struct MHD_Daemon *d = MHD_start_daemon(
            flags, (uint16_t)(i == 0 ? g_srv.cfg.port : g_srv.bound_port), NULL, NULL, handler, NULL,
            MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
        if (!d) {
            fprintf(stderr, "otad: cannot listen on %s:%u: %s\n", g_srv.cfg.listen_host,
                    i == 0 ? g_srv.cfg.port : g_srv.bound_port, strerror(errno));
            if (lfd >= 0) close(lfd);
            srv_http_stop();
            return -1;
        }
        g_srv.daemons[g_srv.n_daemons++] = d;
        if (i == 0) {
            struct sockaddr_storage bs;
            socklen_t bl = sizeof bs;
            const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
            g_srv.bound_port = di && di->port ? di->port : g_srv.cfg.port;
            if (lfd >= 0 && getsockname(lfd, (struct sockaddr *)&bs, &bl) == 0)
                g_srv.bound_port = ntohs(bs.ss_family == AF_INET ? ((struct sockaddr_in *)&bs)->sin_port
                                                                 : ((struct sockaddr_in6 *)&bs)->sin6_port);
        }
    }
    return 0;
}

void srv_http_stop(void)
{
    if (g_srv.n_daemons == 0) return;
    /* Stop accepting; requests in flight finish (bounded by the request
     * timeout), then the daemons stop and close idle connections. */
    for (unsigned i = 0; i < g_srv.n_daemons; i++) {
        MHD_socket lfd = MHD_quiesce_daemon(g_srv.daemons[i]);
        if (lfd != MHD_INVALID_SOCKET) close(lfd);
    }
    int64_t deadline = srv_now_ns() + (int64_t)(g_srv.cfg.request_timeout + 5) * 1000000000LL;
    while (SRV_SUM(in_flight) > 0 && srv_now_ns() < deadline) {
        struct timespec ts = { 0, 20 * 1000000L };
        nanosleep(&ts, NULL);
    }
    for (unsigned i = 0; i < g_srv.n_daemons; i++) MHD_stop_daemon(g_srv.daemons[i]);
    g_srv.n_daemons = 0;
    pthread_mutex_lock(&conn_mu);
    linger_tick(true);
    pthread_mutex_unlock(&conn_mu);
    if (g_srv.resp_204) MHD_destroy_response(g_srv.resp_204);
    g_srv.resp_204 = NULL;
    if (g_srv.resp_c204) MHD_destroy_response(g_srv.resp_c204);
    g_srv.resp_c204 = NULL;
    if (g_srv.resp_c202) MHD_destroy_response(g_srv.resp_c202);
    g_srv.resp_c202 = NULL;
    if (g_srv.resp_r204) MHD_destroy_response(g_srv.resp_r204);
    g_srv.resp_r204 = NULL;
}
