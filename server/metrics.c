/*
 * metrics.c: per-thread counters (see srv_metrics in otad.h).
 *
 * Every thread that counts gets its own cache-line-aligned set on first use,
 * linked into one list; /metrics and the shutdown wait sum over the list.
 * Sets live until the process ends (threads are few: the HTTP pool and main).
 */
#include "otad.h"

#include <stdlib.h>
#include <string.h>

_Thread_local srv_metrics *srv_tl_metrics;

srv_metrics *srv_metrics_register(void)
{
    size_t size = (sizeof(srv_metrics) + 63) / 64 * 64;
    srv_metrics *m = aligned_alloc(64, size);
    if (!m) abort();   /* a few hundred bytes at thread start; nothing sane to do */
    memset(m, 0, size);
    pthread_mutex_lock(&g_srv.metrics_mu);
    m->next = g_srv.metrics;
    g_srv.metrics = m;
    pthread_mutex_unlock(&g_srv.metrics_mu);
    srv_tl_metrics = m;
    return m;
}

uint64_t srv_metric_sum(size_t off)
{
    uint64_t sum = 0;
    pthread_mutex_lock(&g_srv.metrics_mu);
    for (srv_metrics *m = g_srv.metrics; m; m = m->next)
        sum += atomic_load_explicit((_Atomic uint64_t *)((char *)m + off), memory_order_relaxed);
    pthread_mutex_unlock(&g_srv.metrics_mu);
    return sum;
}
