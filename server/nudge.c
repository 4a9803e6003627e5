/*
 * nudge.c: the LAN nudge (see nudge.h).
 */
#include "nudge.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct sockaddr_in g_target;
static int g_on;

int srv_nudge_set(const char *target)
{
    char host[64];
    const char *colon = target ? strrchr(target, ':') : NULL;
    size_t hl = colon ? (size_t)(colon - target) : 0;
    char *end = NULL;
    unsigned long port = colon ? strtoul(colon + 1, &end, 10) : 0;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    if (!colon || hl == 0 || hl >= sizeof host || !end || end == colon + 1 || *end || port == 0 || port > 65535) {
        fprintf(stderr, "otad: --nudge: expected IPV4ADDR:PORT (e.g. 192.168.1.255:4711), got '%s'\n",
                target ? target : "");
        return -1;
    }
    memcpy(host, target, hl);
    host[hl] = 0;
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
        fprintf(stderr, "otad: --nudge: '%s' is not a numeric IPv4 address\n", host);
        return -1;
    }
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    g_target = a;
    g_on = 1;
    return 0;
}

int srv_nudge(const char *app)
{
    char msg[64];
    if (!g_on) return 0;
    int n = snprintf(msg, sizeof msg, "OTAN %s", app ? app : "");
    if (n < 0 || (size_t)n >= sizeof msg) return -1;
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s < 0) return -1;
    int one = 1;
    (void)setsockopt(s, SOL_SOCKET, SO_BROADCAST, &one, sizeof one);
    ssize_t w = sendto(s, msg, (size_t)n, 0, (const struct sockaddr *)&g_target, sizeof g_target);
    close(s);
    return w == n ? 0 : -1;
}
