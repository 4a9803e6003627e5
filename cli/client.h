/*
 * client.h: what the otasign commands that talk to otad's admin API share
 * (publish, rollout, status, devices; cli/cmd_publish.c, cmd_rollout.c,
 * cmd_status.c): where the server and the admin token come from, one
 * request with libcurl, and errors that say what to do next.
 *
 * Server and token, first found wins (flags > environment > config file):
 *   server: --server URL, $OTASIGN_SERVER, `server = URL` in the config file
 *   token:  --token-file F, $OTASIGN_TOKEN_FILE, $OTASIGN_TOKEN (the token
 *           itself), `token-file = F` in the config file
 * The config file is $OTASIGN_CONFIG, else $XDG_CONFIG_HOME/otasign/config,
 * else ~/.config/otasign/config: `key = value` lines, `#` comments.
 */
#ifndef OTASIGN_CLIENT_H
#define OTASIGN_CLIENT_H

#include <stddef.h>
#include <stdio.h>
#include <cjson/cJSON.h>
#include "util.h"

typedef struct client {
    char *server;          /* base URL without a trailing '/' */
    char *token;           /* the admin token (wiped on free) */
    const char *server_from, *token_from;   /* where each came from, for messages */
    int json;              /* --json: machine output */
} client;

/* The options every client command takes; add CLIENT_OPTS(&o) to a util_opt
 * table. */
typedef struct client_opts {
    const char *server, *token_file;
    int json;
} client_opts;
#define CLIENT_OPTS(o) \
    { "--server", OPT_STR, &(o)->server, NULL }, \
    { "--token-file", OPT_STR, &(o)->token_file, NULL }, \
    { "--json", OPT_FLAG, &(o)->json, NULL }
#define CLIENT_HELP \
    "  --server URL        otad's address (else $OTASIGN_SERVER, else `server =` in the config)\n" \
    "  --token-file FILE   admin token, first line (else $OTASIGN_TOKEN_FILE, $OTASIGN_TOKEN,\n" \
    "                      else `token-file =` in ~/.config/otasign/config)\n" \
    "  --json              machine-readable output (one JSON document)\n"

/* Resolve server and token.  Returns 0, or prints what is missing and
 * returns EXIT_USAGE/EXIT_FAIL. */
int client_init(client *c, const client_opts *o);
void client_free(client *c);

/* One answer: HTTP status and the body (NUL-terminated), parsed when JSON. */
typedef struct client_resp {
    long status;
    char *body;
    size_t len;
    cJSON *json;           /* NULL when the body is not JSON */
} client_resp;

/* METHOD path (starting with '/') with an optional JSON body.  Returns 0
 * when an answer came (any status), -1 after printing why none did (with
 * what to check). */
int client_call(client *c, const char *method, const char *path, const char *body,
                size_t body_len, client_resp *r);
void client_resp_free(client_resp *r);

/* Print the error of a non-2xx answer with advice for the usual causes
 * (401: the token; 404: what to publish or start first; ...).  what names
 * the action ("publish logger-3").  Always returns EXIT_FAIL. */
int client_fail(client *c, const client_resp *r, const char *what);

/* The "message" of an error answer, or the body, or "". */
const char *client_err_text(const client_resp *r);

/* Small JSON readers that tolerate missing members. */
double cj_num(const cJSON *o, const char *name, double dflt);
const char *cj_str(const cJSON *o, const char *name, const char *dflt);
const cJSON *cj_get(const cJSON *o, const char *name);

/* A time from the API (seconds since 1970, or an ISO 8601 string) as
 * seconds since 1970; 0 when absent or unreadable. */
long long cj_time(const cJSON *o, const char *name);
/* "12s ago", "3m ago", "2h ago", "5d ago", "never" */
void fmt_ago(char *out, size_t cap, long long when);

/* URL-escape s into a malloc'd string (query values, path parts). */
char *client_escape(const char *s);

/* The commands (cmd_publish.c, cmd_rollout.c, cmd_status.c). */
int cmd_publish(int argc, char **argv);
int cmd_rollout(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_devices(int argc, char **argv);

#endif
