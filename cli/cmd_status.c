/*
 * cmd_status.c: `otasign status [APP] [--watch]` (a rollout's progress, per
 * wave) and `otasign devices [ID | filters]` (devices by state, a device's
 * history), read from otad's admin API.
 *
 * Per-wave rows: when otad's rollout answer carries per-wave counts they
 * are shown as given; otherwise each device that reported on the release is
 * placed in its wave by its bucket, computed as otad does (server/README.md,
 * "Rollout rules": SHA-256("otad-bucket-v1\0" || u64le rollout id || device
 * id) mod 10000, offered when bucket < percent x 100).
 *
 * --watch redraws in place on a terminal; otherwise (a pipe, a log) it
 * prints the whole block again, with the time, only when something changed.
 */
#include <signal.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "client.h"
#include "ota_crypto.h"

/* ---- rendering helpers ------------------------------------------------------- */

enum { C_DL, C_TRIAL, C_CONF, C_RB, C_REJ, C_FAIL, C_N };
static const char *col_names[C_N] = { "downloading", "trial", "confirmed", "rolled back",
                                      "rejected", "failed" };

static int state_col(const char *s)
{
    if (!s) return -1;
    if (strcmp(s, "downloading") == 0 || strcmp(s, "downloaded") == 0) return C_DL;
    if (strcmp(s, "trial") == 0) return C_TRIAL;
    if (strcmp(s, "confirmed") == 0) return C_CONF;
    if (strcmp(s, "rolled_back") == 0) return C_RB;
    if (strcmp(s, "rejected") == 0) return C_REJ;
    if (strcmp(s, "failed") == 0) return C_FAIL;
    return -1;
}

typedef struct row {
    char label[32];
    long targeted;       /* -1: unknown */
    long c[C_N];
} row;

static void row_print(FILE *f, const row *r)
{
    fprintf(f, "  %-10s", r->label);
    if (r->targeted >= 0) fprintf(f, " %9ld", r->targeted);
    else fprintf(f, " %9s", "-");
    for (int i = 0; i < C_N; i++) fprintf(f, " %*ld", (int)strlen(col_names[i]) > 8 ? (int)strlen(col_names[i]) : 8, r->c[i]);
    fputc('\n', f);
}

static void header_print(FILE *f)
{
    fprintf(f, "  %-10s %9s", "wave", "targeted");
    for (int i = 0; i < C_N; i++) fprintf(f, " %*s", (int)strlen(col_names[i]) > 8 ? (int)strlen(col_names[i]) : 8, col_names[i]);
    fputc('\n', f);
}

static unsigned bucket_of(long long rollout_id, const char *device)
{
    uint8_t msg[15 + 8 + 64], h[32];
    size_t dl = strlen(device);
    if (dl > 32) dl = 32;
    memcpy(msg, "otad-bucket-v1", 15);
    for (int i = 0; i < 8; i++) msg[15 + i] = (uint8_t)((unsigned long long)rollout_id >> (8 * i));
    memcpy(msg + 23, device, dl);
    ota_sha256(h, msg, 23 + dl);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)h[i] << (8 * i);
    return (unsigned)(v % 10000);
}

static void fmt_bytes(char *o, size_t cap, double b)
{
    if (b < 1024) snprintf(o, cap, "%.0f B", b);
    else if (b < 1024 * 1024) snprintf(o, cap, "%.1f KB", b / 1024);
    else snprintf(o, cap, "%.1f MB", b / (1024 * 1024));
}

static double wave_pct(const cJSON *w)
{
    return cJSON_IsNumber(w) ? w->valuedouble : cj_num(w, "percent", -1);
}

/* The release entry for seq in an app answer. */
static const cJSON *find_release(const cJSON *app, double seq)
{
    const cJSON *rels = cj_get(app, "releases"), *it;
    cJSON_ArrayForEach(it, rels)
        if (cj_num(it, "seq", -1) == seq) return it;
    return NULL;
}

/* Counts of one release by column, from "states" (or top-level members). */
static void release_counts(const cJSON *rel, row *r)
{
    const cJSON *det = cj_get(rel, "detail");
    const cJSON *st = cj_get(det, "states");
    if (!st) st = cj_get(rel, "states");
    if (!st) st = cj_get(rel, "counts");     /* otad with per-state denominators */
    memset(r->c, 0, sizeof r->c);
    if (st) {
        const cJSON *it;
        cJSON_ArrayForEach(it, st) {
            int c = state_col(it->string);
            double v = cJSON_IsNumber(it) ? it->valuedouble : cj_num(it, "count", 0);
            if (c >= 0) r->c[c] += (long)v;
        }
    } else {
        r->c[C_CONF] = (long)cj_num(rel, "confirmed", 0);
        r->c[C_RB] = (long)cj_num(rel, "rolled_back", 0);
        r->c[C_REJ] = (long)cj_num(rel, "rejected", 0);
        r->c[C_FAIL] = (long)cj_num(rel, "failed", 0);
    }
    r->targeted = (long)cj_num(rel, "targeted", -1);
}

/* Render one app's answer (GET /admin/rollouts/APP) into f.  live: relative
 * times (a terminal redraw); else only what changes with the state. */
static void render_app(FILE *f, const cJSON *a, int live)
{
    const char *app = cj_str(a, "app", "?");
    const cJSON *cur = cj_get(a, "current");
    if (!cJSON_IsObject(cur)) {
        /* No active or paused rollout: the last one, if any, and the releases. */
        const cJSON *ros = cj_get(a, "rollouts");
        const cJSON *last = NULL, *it;
        cJSON_ArrayForEach(it, ros)
            if (!last || cj_num(it, "id", 0) > cj_num(last, "id", 0)) last = it;
        if (last)
            fprintf(f, "%s: no rollout running (the last one, of seq %.0f, was %s%s%s%s)\n", app,
                    cj_num(last, "seq", 0), cj_str(last, "state", "?"),
                    *cj_str(last, "reason", "") ? ": " : "", cj_str(last, "reason", ""), "");
        else
            fprintf(f, "%s: no rollout yet: otasign rollout start %s SEQ\n", app, app);
    } else {
        double seq = cj_num(cur, "seq", 0), pct = cj_num(cur, "percent", 0);
        const cJSON *rel = find_release(a, seq);
        const char *label = cj_str(rel, "label", "");
        const char *state = cj_str(cur, "state", "?");
        char upd[48] = "";
        if (live) {
            char ago[24];
            fmt_ago(ago, sizeof ago, cj_time(cur, "updated"));
            snprintf(upd, sizeof upd, ", changed %s", ago);
        }
        fprintf(f, "%s: seq %.0f%s%s%s  %s  %g%% of devices  (rollout #%.0f%s)\n", app, seq,
                *label ? " \"" : "", label, *label ? "\"" : "", state, pct, cj_num(cur, "id", 0), upd);
        const char *reason = cj_str(cur, "reason", "");
        if (*reason) fprintf(f, "  why %s: %s\n", state, reason);

        /* Waves. */
        const cJSON *waves = cj_get(cur, "waves"), *w;
        int nw = cJSON_IsArray(waves) ? cJSON_GetArraySize(waves) : 0;
        double wc = cj_num(cur, "wave_confirmed", 0);
        row rows[18];
        int nrows = 0;
        memset(rows, 0, sizeof rows);
        row tot;
        memset(&tot, 0, sizeof tot);
        if (rel) release_counts(rel, &tot);
        snprintf(tot.label, sizeof tot.label, "all");
        if (nw > 0) {
            int passed = 0, k = 0;
            double next = -1;
            fprintf(f, "  waves:");
            cJSON_ArrayForEach(w, waves) {
                double p = wave_pct(w);
                const char *ws = cj_str(w, "state", NULL);
                int reached = ws ? (strcmp(ws, "pending") != 0 && strcmp(ws, "waiting") != 0) : p <= pct;
                if (reached) passed++;
                else if (next < 0) next = p;
                fprintf(f, "%s%g%%%s", k++ ? " > " : " ", p, reached ? (p == pct ? " (now)" : " (done)") : "");
            }
            fputc('\n', f);
            const char *waiting = cj_str(cur, "waiting", NULL);
            if (waiting && *waiting) fprintf(f, "  waiting: %s\n", waiting);
            else if (next >= 0 && wc > 0 && strcmp(state, "active") == 0) {
                long need = (long)(wc * (passed > 0 ? passed : 1));
                fprintf(f, "  next wave (%g%%) opens at %ld confirmed: %ld so far\n", next, need, tot.c[C_CONF]);
            }
            /* What otad says the wave waits for, when it says it. */
            cJSON_ArrayForEach(w, waves) {
                const char *wf = cj_str(w, "waiting_for", cj_str(w, "waits_for", NULL));
                if (wf && *wf) fprintf(f, "  wave %g%% waits for: %s\n", wave_pct(w), wf);
            }
            /* Rows: given per wave, or computed from the devices' buckets. */
            int given = 0;
            cJSON_ArrayForEach(w, waves) {
                if (nrows >= 16) break;
                row *r = &rows[nrows++];
                snprintf(r->label, sizeof r->label, "%g%%", wave_pct(w));
                r->targeted = -1;
                const cJSON *cs = cj_get(w, "states");
                if (!cs) cs = cj_get(w, "counts");
                if (cs) {
                    given = 1;
                    const cJSON *it;
                    cJSON_ArrayForEach(it, cs) {
                        int c = state_col(it->string);
                        if (c >= 0 && cJSON_IsNumber(it)) r->c[c] += (long)it->valuedouble;
                    }
                    r->targeted = (long)cj_num(w, "targeted", -1);
                }
            }
            if (!given && rel) {
                const cJSON *devs = cj_get(cj_get(rel, "detail"), "devices");
                if (!devs) devs = cj_get(rel, "devices");
                const cJSON *pins = cj_get(cur, "pins");
                row *other = &rows[nrows];
                snprintf(other->label, sizeof other->label, "other");
                const cJSON *d;
                for (int i = 0; i < nrows; i++) rows[i].targeted = 0;
                other->targeted = 0;
                cJSON_ArrayForEach(d, devs) {
                    const char *id = cj_str(d, "id", NULL);
                    int c = state_col(cj_str(d, "state", NULL));
                    if (!id) continue;
                    row *r = other;
                    if (!cj_get(pins, id)) {
                        unsigned b = bucket_of((long long)cj_num(cur, "id", 0), id);
                        int i = 0;
                        cJSON_ArrayForEach(w, waves) {
                            if (b < wave_pct(w) * 100) { r = &rows[i]; break; }
                            i++;
                        }
                    }
                    r->targeted++;
                    if (c >= 0) r->c[c]++;
                }
                if (other->targeted > 0) nrows++;
            }
        } else {
            row *r = &rows[nrows++];
            *r = tot;
            snprintf(r->label, sizeof r->label, "%g%%", pct);
        }
        if (tot.targeted < 0) {
            tot.targeted = 0;
            for (int i = 0; i < C_N; i++) tot.targeted += tot.c[i];
            if (rel && cj_get(cj_get(rel, "detail"), "devices")) {
                tot.targeted = cJSON_GetArraySize(cj_get(cj_get(rel, "detail"), "devices"));
            }
        }
        if (nw == 0) rows[0].targeted = tot.targeted;
        header_print(f);
        for (int i = 0; i < nrows; i++) row_print(f, &rows[i]);
        if (nw > 0) row_print(f, &tot);

        const cJSON *thr = cj_get(cur, "error_threshold");
        long outcomes = tot.c[C_CONF] + tot.c[C_RB] + tot.c[C_REJ] + tot.c[C_FAIL];
        long bad = tot.c[C_RB] + tot.c[C_REJ] + tot.c[C_FAIL];
        if (cJSON_IsNumber(thr))
            fprintf(f, "  errors: %ld of %ld outcomes (pauses above %g%% once %g outcomes exist)\n",
                    bad, outcomes, thr->valuedouble * 100, cj_num(cur, "min_reports", 5));
        const cJSON *reasons = cj_get(cj_get(rel, "detail"), "reasons"), *it;
        if (!reasons) reasons = cj_get(rel, "reasons");
        cJSON_ArrayForEach(it, reasons) {
            if (cJSON_IsNumber(it) && it->string)
                fprintf(f, "  %5.0f x %s\n", it->valuedouble, it->string);
            else if (cJSON_IsObject(it))
                fprintf(f, "  %5.0f x %s: %s\n", cj_num(it, "count", 0), cj_str(it, "state", ""),
                        cj_str(it, "detail", cj_str(it, "reason", "")));
        }
    }
    /* The current rollout's last events (otad that keeps a history). */
    const cJSON *hist = cj_get(cur, "history");
    int nh = cJSON_IsArray(hist) ? cJSON_GetArraySize(hist) : 0;
    if (nh > 0) {
        const cJSON *ev[3] = { NULL, NULL, NULL };   /* the 3 newest, by time */
        const cJSON *h;
        cJSON_ArrayForEach(h, hist) {
            long long t = cj_time(h, "at");
            for (int k = 0; k < 3; k++) {
                if (!ev[k] || t >= cj_time(ev[k], "at")) {
                    for (int m = 2; m > k; m--) ev[m] = ev[m - 1];
                    ev[k] = h;
                    break;
                }
            }
        }
        fprintf(f, "  history:\n");
        for (int k = 2; k >= 0; k--) {
            if (!ev[k]) continue;
            char when[32] = "-";
            time_t t = (time_t)cj_time(ev[k], "at");
            if (t > 0) strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", localtime(&t));
            const char *d = cj_str(ev[k], "detail", "");
            fprintf(f, "    %s  %s%s%s\n", when, cj_str(ev[k], "event", "?"), *d ? ": " : "", d);
        }
    }
    /* Every release of the app, newest first: what it reached, bytes served. */
    const cJSON *rels = cj_get(a, "releases"), *r;
    int nrel = cJSON_IsArray(rels) ? cJSON_GetArraySize(rels) : 0;
    for (int i = nrel - 1; i >= 0; i--) {
        r = cJSON_GetArrayItem(rels, i);
        row c;
        release_counts(r, &c);
        char b[32];
        fmt_bytes(b, sizeof b, cj_num(r, "bytes_served", 0));
        const char *lab = cj_str(r, "label", "");
        fprintf(f, "  release %.0f%s%s%s: %ld confirmed, %ld rolled back, %ld rejected, %ld failed; "
                   "%s served\n", cj_num(r, "seq", 0), *lab ? " \"" : "", lab, *lab ? "\"" : "",
                c.c[C_CONF], c.c[C_RB], c.c[C_REJ], c.c[C_FAIL], b);
    }
}

/* ---- fetching ---------------------------------------------------------------------- */

/* The apps otad knows (from its releases), as a cJSON array of strings. */
static int list_apps(client *c, cJSON **apps)
{
    client_resp r;
    if (client_call(c, "GET", "/admin/releases", NULL, 0, &r) != 0) return -1;
    if (r.status != 200) { client_fail(c, &r, "listing releases"); client_resp_free(&r); return -1; }
    *apps = cJSON_CreateArray();
    const cJSON *it;
    cJSON_ArrayForEach(it, cj_get(r.json, "releases")) {
        const char *a = cj_str(it, "app", NULL);
        if (!a) continue;
        int seen = 0;
        const cJSON *x;
        cJSON_ArrayForEach(x, *apps) if (strcmp(x->valuestring, a) == 0) seen = 1;
        if (!seen) cJSON_AddItemToArray(*apps, cJSON_CreateString(a));
    }
    client_resp_free(&r);
    return 0;
}

/* With an otad whose rollout answer has no per-release device list (it has
 * GET /admin/devices?app= instead): put the app's devices, with their latest
 * state when it is about the rollout's release, into the release entry as
 * "devices", so the per-wave rows can be computed.  Devices outside the
 * allow list or of another board than the release's are left out.  Quietly
 * does nothing when the list is not there. */
static void enrich_devices(client *c, cJSON *a)
{
    const cJSON *cur = cj_get(a, "current");
    const cJSON *waves = cj_get(cur, "waves");
    if (!cJSON_IsObject(cur) || !cJSON_IsArray(waves) || cJSON_GetArraySize(waves) == 0) return;
    double seq = cj_num(cur, "seq", 0);
    cJSON *rel = (cJSON *)find_release(a, seq);
    if (!rel || cj_get(cj_get(rel, "detail"), "devices") || cj_get(rel, "devices")) return;
    const char *app = cj_str(a, "app", "");
    const char *board = cj_str(rel, "board", "");
    const cJSON *allow = cj_get(cur, "allow");
    int nallow = cJSON_IsArray(allow) ? cJSON_GetArraySize(allow) : 0;
    cJSON *out = cJSON_CreateArray();
    char *ea = client_escape(app), *cursor = NULL;
    for (int page = 0; page < 100 && ea; page++) {
        char path[512];
        char *ec = cursor ? client_escape(cursor) : NULL;
        snprintf(path, sizeof path, "/admin/devices?app=%s&limit=1000%s%s", ea, ec ? "&cursor=" : "",
                 ec ? ec : "");
        free(ec);
        free(cursor);
        cursor = NULL;
        client_resp r;
        if (client_call(c, "GET", path, NULL, 0, &r) != 0) break;
        const cJSON *d, *list = r.status == 200 ? cj_get(r.json, "devices") : NULL;
        cJSON_ArrayForEach(d, list) {
            const char *id = cj_str(d, "id", NULL);
            if (!id) continue;
            if (nallow) {
                int in = 0;
                const cJSON *x;
                cJSON_ArrayForEach(x, allow) if (cJSON_IsString(x) && strcmp(x->valuestring, id) == 0) in = 1;
                if (!in) continue;
            }
            const cJSON *e, *mine = NULL;
            cJSON_ArrayForEach(e, cj_get(d, "apps")) if (strcmp(cj_str(e, "app", ""), app) == 0) mine = e;
            const char *db = cj_str(mine, "board", "");
            if (*board && *db && strcasecmp(board, db) != 0) continue;
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "id", id);
            const char *st = cj_str(mine, "state", NULL);
            if (st && cj_num(mine, "state_seq", -1) == seq) cJSON_AddStringToObject(o, "state", st);
            cJSON_AddItemToArray(out, o);
        }
        const char *nc = r.status == 200 ? cj_str(r.json, "next_cursor", NULL) : NULL;
        if (nc && *nc) cursor = strdup(nc);
        client_resp_free(&r);
        if (!cursor) break;
    }
    free(ea);
    free(cursor);
    if (cJSON_GetArraySize(out) > 0) cJSON_AddItemToObject(rel, "devices", out);
    else cJSON_Delete(out);
}

/* GET /admin/rollouts/APP for each app: {"apps": [answer, ...]}. */
static int fetch(client *c, const char *app, cJSON **out)
{
    cJSON *apps = NULL;
    if (app) {
        apps = cJSON_CreateArray();
        cJSON_AddItemToArray(apps, cJSON_CreateString(app));
    } else if (list_apps(c, &apps) != 0) {
        return -1;
    }
    cJSON *res = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(res, "apps");
    const cJSON *it;
    cJSON_ArrayForEach(it, apps) {
        char *e = client_escape(it->valuestring), path[256];
        snprintf(path, sizeof path, "/admin/rollouts/%s", e ? e : "");
        free(e);
        client_resp r;
        if (client_call(c, "GET", path, NULL, 0, &r) != 0) goto fail;
        if (r.status == 404 && app) {
            util_err("status %s: otad knows no release or rollout of %s: publish one first "
                     "(otasign publish releases/%s-N)", app, app, app);
            client_resp_free(&r);
            goto fail;
        }
        if (r.status != 200 || !r.json) {
            client_fail(c, &r, "reading the rollout");
            client_resp_free(&r);
            goto fail;
        }
        if (!c->json) enrich_devices(c, r.json);
        cJSON_AddItemToArray(arr, r.json);
        r.json = NULL;
        client_resp_free(&r);
    }
    cJSON_Delete(apps);
    *out = res;
    return 0;
fail:
    cJSON_Delete(apps);
    cJSON_Delete(res);
    return -1;
}

/* ---- --until -------------------------------------------------------------------------- */

/* 1 when the condition holds for the (single) app in res. */
static int until_met(const cJSON *res, const char *until)
{
    const cJSON *a = cJSON_GetArrayItem(cj_get(res, "apps"), 0);
    const cJSON *cur = cj_get(a, "current");
    const char *state = cJSON_IsObject(cur) ? cj_str(cur, "state", "") : "none";
    if (strcmp(until, "paused") == 0) return strcmp(state, "paused") == 0;
    if (strcmp(until, "aborted") == 0 || strcmp(until, "stopped") == 0) return !cJSON_IsObject(cur);
    if (!cJSON_IsObject(cur)) return 0;
    const cJSON *rel = find_release(a, cj_num(cur, "seq", 0));
    row t;
    memset(&t, 0, sizeof t);
    if (rel) release_counts(rel, &t);
    if (strncmp(until, "confirmed=", 10) == 0) return t.c[C_CONF] >= atol(until + 10);
    if (strncmp(until, "percent=", 8) == 0) return cj_num(cur, "percent", 0) >= atof(until + 8);
    if (strcmp(until, "done") == 0)
        return cj_num(cur, "percent", 0) >= 100 && t.c[C_CONF] > 0 && t.c[C_DL] == 0 && t.c[C_TRIAL] == 0;
    return 0;
}

static volatile sig_atomic_t stop_flag;
static void on_sig(int s) { (void)s; stop_flag = 1; }

static void help_status(FILE *f)
{
    fprintf(f,
        "usage: otasign status [APP] [--watch] [--interval S] [--until COND] [--timeout S] [--json]\n"
        "\n"
        "The rollout of APP (every app when none is named): its release, state and\n"
        "percentage, its waves and what the next one waits for, devices per wave by\n"
        "state (targeted, downloading, trial, confirmed, rolled back, rejected, failed),\n"
        "the reasons for failures, and every release with the bytes served.\n"
        "\n"
        "  --watch          keep watching: redrawn in place on a terminal; elsewhere the\n"
        "                   block is printed again, with the time, whenever it changes\n"
        "  --interval S     seconds between looks (default 2)\n"
        "  --until COND     stop watching when COND holds: confirmed=N (N devices confirmed\n"
        "                   the release), percent=P (the rollout reached P%%), paused,\n"
        "                   aborted, done (100%%, nothing in flight)\n"
        "  --timeout S      give up after S seconds (exit status 1)\n"
        "\n" CLIENT_HELP
        "\nWith --watch --json, one JSON document per line each time something changes.\n"
        "Exit status: 0 ok, 1 failure, 2 usage.\n");
}

int cmd_status(int argc, char **argv)
{
    client_opts co = {0};
    int watch = 0, npos = 0, help_flag = 0;
    const char *interval_s = "2", *until = NULL, *timeout_s = NULL;
    util_opt opts[] = {
        CLIENT_OPTS(&co),
        { "--watch", OPT_FLAG, &watch, NULL },
        { "--interval", OPT_STR, &interval_s, NULL },
        { "--until", OPT_STR, &until, NULL },
        { "--timeout", OPT_STR, &timeout_s, NULL },
    };
    const char *pos[1];
    if (util_parse_args(argc, argv, opts, sizeof opts / sizeof opts[0], pos, 1, &npos, &help_flag) != 0) {
        help_status(stderr);
        return EXIT_USAGE;
    }
    if (help_flag) { help_status(stdout); return EXIT_OK; }
    const char *app = npos ? pos[0] : NULL;
    if (app && ota_name_valid(app, strlen(app), OTA_NAME_MAX, 0) != OTA_OK) {
        util_err("app '%s': 1..32 characters of [A-Za-z0-9._-], first a letter or digit", app);
        return EXIT_USAGE;
    }
    char *end;
    double interval = strtod(interval_s, &end);
    if (*end || !(interval >= 0.1 && interval <= 3600)) { util_err("--interval: seconds, 0.1 to 3600"); return EXIT_USAGE; }
    uint64_t timeout = 0;
    if (timeout_s && (util_parse_u64(timeout_s, &timeout) || timeout == 0)) { util_err("--timeout: whole seconds"); return EXIT_USAGE; }
    if (until) {
        if (!app) { util_err("--until needs an APP"); return EXIT_USAGE; }
        uint64_t n;
        if (!(strcmp(until, "paused") == 0 || strcmp(until, "aborted") == 0 ||
              strcmp(until, "stopped") == 0 || strcmp(until, "done") == 0 ||
              (strncmp(until, "confirmed=", 10) == 0 && util_parse_u64(until + 10, &n) == 0) ||
              (strncmp(until, "percent=", 8) == 0 && util_parse_u64(until + 8, &n) == 0 && n <= 100))) {
            util_err("--until: confirmed=N, percent=P, paused, aborted or done");
            return EXIT_USAGE;
        }
        watch = 1;
    }
    client c;
    int rc = client_init(&c, &co);
    if (rc != 0) return rc;
    rc = EXIT_FAIL;
    int tty = !c.json && isatty(STDOUT_FILENO);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sig;
    if (watch) { sigaction(SIGINT, &sa, NULL); sigaction(SIGTERM, &sa, NULL); }
    char *last = NULL;
    int last_lines = 0;
    time_t t0 = time(NULL);
    for (;;) {
        cJSON *res = NULL;
        if (fetch(&c, app, &res) != 0) {
            if (!watch) break;
            /* A watch survives otad restarting: say so, try again. */
            fprintf(stderr, "otasign status: will try again in %g s\n", interval);
        } else {
            char *text = NULL;
            size_t tlen = 0;
            if (c.json) {
                text = cJSON_PrintUnformatted(app ? cJSON_GetArrayItem(cj_get(res, "apps"), 0) : res);
            } else {
                FILE *m = open_memstream(&text, &tlen);
                if (m) {
                    const cJSON *a;
                    int k = 0;
                    cJSON_ArrayForEach(a, cj_get(res, "apps")) {
                        if (k++) fputc('\n', m);
                        render_app(m, a, tty);
                    }
                    if (k == 0) fprintf(m, "otad at %s has no releases yet: otasign publish RELEASE_DIR\n", c.server);
                    fclose(m);
                }
            }
            if (!text) { cJSON_Delete(res); util_err("out of memory"); break; }
            if (!watch) {
                fputs(text, stdout);
                if (c.json) fputc('\n', stdout);
                free(text);
                cJSON_Delete(res);
                rc = EXIT_OK;
                break;
            }
            int changed = !last || strcmp(last, text) != 0;
            if (tty) {
                /* Redraw in place: up over the last block, clear, print. */
                if (last_lines) printf("\033[%dA\033[J", last_lines);
                char clock[16];
                time_t now = time(NULL);
                strftime(clock, sizeof clock, "%H:%M:%S", localtime(&now));
                printf("%s   (%s, every %gs, Ctrl-C to stop)\n", text, clock, interval);
                last_lines = 1;
                for (const char *p = text; *p; p++) if (*p == '\n') last_lines++;
                fflush(stdout);
            } else if (changed) {
                if (!c.json) {
                    char clock[16];
                    time_t now = time(NULL);
                    strftime(clock, sizeof clock, "%H:%M:%S", localtime(&now));
                    printf("[%s]\n", clock);
                }
                fputs(text, stdout);
                if (c.json) fputc('\n', stdout);
                fflush(stdout);
            }
            free(last);
            last = text;
            int met = until && until_met(res, until);
            cJSON_Delete(res);
            if (met) { rc = EXIT_OK; break; }
        }
        if (timeout && (uint64_t)(time(NULL) - t0) >= timeout) {
            util_err("--timeout: %llu s passed%s%s", (unsigned long long)timeout,
                     until ? " before --until " : "", until ? until : "");
            rc = EXIT_FAIL;
            break;
        }
        if (stop_flag) { rc = EXIT_OK; break; }
        struct timespec ts = { (time_t)interval, (long)((interval - (double)(time_t)interval) * 1e9) };
        while (nanosleep(&ts, &ts) != 0 && !stop_flag) {}
        if (stop_flag) { rc = EXIT_OK; break; }
    }
    free(last);
    client_free(&c);
    return rc;
}

/* ---- devices ------------------------------------------------------------------------- */

static void help_devices(FILE *f)
{
    fprintf(f,
        "usage: otasign devices [--app APP] [--state STATE] [--seq N] [--limit N] [--json]\n"
        "       otasign devices ID [--json]          one device: apps, releases, history\n"
        "\n"
        "Devices with the state of their newest release and why (rolled back, rejected),\n"
        "and when they were last seen.  STATE: downloading, downloaded, trial, confirmed,\n"
        "rolled_back, rejected, failed.\n"
        "\n" CLIENT_HELP
        "\nExit status: 0 ok, 1 failure, 2 usage.\n");
}

static void print_time(char *o, size_t cap, long long t)
{
    if (t <= 0) { snprintf(o, cap, "-"); return; }
    time_t tt = (time_t)t;
    strftime(o, cap, "%Y-%m-%d %H:%M:%S", localtime(&tt));
}

static int device_one(client *c, const char *id)
{
    char *e = client_escape(id), path[256];
    snprintf(path, sizeof path, "/admin/devices/%s", e ? e : "");
    free(e);
    client_resp r;
    if (client_call(c, "GET", path, NULL, 0, &r) != 0) return EXIT_FAIL;
    int rc = EXIT_FAIL;
    if (r.status == 404 && strcmp(cj_str(r.json, "error", ""), "not_found") != 0) {
        util_err("no device %s on otad: add it with otasign device add %s --app APP ...", id, id);
        goto out;
    }
    if (r.status != 200 || !r.json) { client_fail(c, &r, "devices"); goto out; }
    if (c->json) {
        fputs(r.body, stdout);
        if (r.len && r.body[r.len - 1] != '\n') fputc('\n', stdout);
        rc = EXIT_OK;
        goto out;
    }
    char t1[32], t2[32];
    fmt_ago(t1, sizeof t1, cj_time(r.json, "last_seen"));
    print_time(t2, sizeof t2, cj_time(r.json, "created"));
    const cJSON *hs = cj_get(r.json, "has_secret");
    printf("device %s: last seen %s, added %s%s\n", id, t1, t2,
           cJSON_IsBool(hs) ? (cJSON_IsTrue(hs) ? ", has its secret" : ", no secret") : "");
    const cJSON *it;
    cJSON_ArrayForEach(it, cj_get(r.json, "apps")) {
        fmt_ago(t1, sizeof t1, cj_time(it, "last_seen"));
        printf("  runs %s seq %.0f (last poll %s)\n", cj_str(it, "app", "?"), cj_num(it, "seq", 0), t1);
    }
    cJSON_ArrayForEach(it, cj_get(r.json, "releases")) {
        const char *d = cj_str(it, "detail", "");
        print_time(t1, sizeof t1, cj_time(it, "updated"));
        printf("  %s seq %.0f: %s%s%s (%s)\n", cj_str(it, "app", "?"), cj_num(it, "seq", 0),
               cj_str(it, "state", "?"), *d ? ": " : "", d, t1);
    }
    const cJSON *reps = cj_get(r.json, "reports");
    if (cJSON_GetArraySize(reps) > 0) printf("  history (newest first):\n");
    cJSON_ArrayForEach(it, reps) {
        const char *d = cj_str(it, "detail", "");
        print_time(t1, sizeof t1, cj_time(it, "at"));
        printf("    %s  %s seq %.0f %s%s%s\n", t1, cj_str(it, "app", "?"), cj_num(it, "seq", 0),
               cj_str(it, "state", "?"), *d ? ": " : "", d);
    }
    rc = EXIT_OK;
out:
    client_resp_free(&r);
    return rc;
}

/* One listed device: {id, app, seq (running), state, detail, last_seen}. */
static void device_line(const cJSON *d)
{
    char ago[24];
    fmt_ago(ago, sizeof ago, cj_time(d, "last_seen"));
    const char *det = cj_str(d, "detail", cj_str(d, "reason", ""));
    char about[48];
    double ss = cj_num(d, "state_seq", -1);
    if (!*det && ss >= 0 && ss != cj_num(d, "seq", -1)) {
        snprintf(about, sizeof about, "(state of seq %.0f)", ss);
        det = about;
    }
    double seq = cj_num(d, "seq", cj_num(d, "running_seq", -1));
    char seqs[24] = "-";
    if (seq >= 0) snprintf(seqs, sizeof seqs, "%.0f", seq);
    printf("%-24s %-12s %6s  %-12s %-12s %s\n", cj_str(d, "id", "?"), cj_str(d, "app", "-"), seqs,
           cj_str(d, "state", "-"), ago, det);
}

int cmd_devices(int argc, char **argv)
{
    client_opts co = {0};
    const char *app = NULL, *state = NULL, *seq_s = NULL, *limit_s = NULL;
    util_opt opts[] = {
        CLIENT_OPTS(&co),
        { "--app", OPT_STR, &app, NULL },
        { "--state", OPT_STR, &state, NULL },
        { "--seq", OPT_STR, &seq_s, NULL },
        { "--limit", OPT_STR, &limit_s, NULL },
    };
    const char *pos[1];
    int npos = 0, help_flag = 0;
    if (util_parse_args(argc, argv, opts, sizeof opts / sizeof opts[0], pos, 1, &npos, &help_flag) != 0) {
        help_devices(stderr);
        return EXIT_USAGE;
    }
    if (help_flag) { help_devices(stdout); return EXIT_OK; }
    uint64_t seq = 0, limit = 0;
    if (seq_s && util_parse_u64(seq_s, &seq)) { util_err("--seq: a release sequence"); return EXIT_USAGE; }
    if (limit_s && (util_parse_u64(limit_s, &limit) || limit == 0)) { util_err("--limit: a whole number >= 1"); return EXIT_USAGE; }
    if (state && state_col(state) < 0) {
        util_err("--state: downloading, downloaded, trial, confirmed, rolled_back, rejected or failed");
        return EXIT_USAGE;
    }
    if (app && ota_name_valid(app, strlen(app), OTA_NAME_MAX, 0) != OTA_OK) { util_err("--app: an app name"); return EXIT_USAGE; }
    if (npos && ota_name_valid(pos[0], strlen(pos[0]), OTA_DEVICE_ID_MAX, 1) != OTA_OK) {
        util_err("device id '%s': 1..32 characters of [A-Za-z0-9._:-]", pos[0]);
        return EXIT_USAGE;
    }
    client c;
    int rc = client_init(&c, &co);
    if (rc != 0) return rc;
    if (npos) { rc = device_one(&c, pos[0]); client_free(&c); return rc; }
    rc = EXIT_FAIL;

    /* The device list (GET /admin/devices with filters, cursor pages) when
     * otad has it; otherwise the devices that reported on each release. */
    cJSON *out = cJSON_CreateArray();
    long n = 0;
    char *cursor = NULL;
    int listed = 0;
    for (;;) {
        char path[512];
        int k = snprintf(path, sizeof path, "/admin/devices?");
        char *ea = app ? client_escape(app) : NULL, *es = state ? client_escape(state) : NULL,
             *ec = cursor ? client_escape(cursor) : NULL;
        if (ea) k += snprintf(path + k, sizeof path - (size_t)k, "app=%s&", ea);
        if (es) k += snprintf(path + k, sizeof path - (size_t)k, "state=%s&", es);
        if (seq_s) k += snprintf(path + k, sizeof path - (size_t)k, "seq=%llu&", (unsigned long long)seq);
        if (limit) k += snprintf(path + k, sizeof path - (size_t)k, "limit=%llu&", (unsigned long long)limit);
        if (ec) k += snprintf(path + k, sizeof path - (size_t)k, "cursor=%s&", ec);
        path[k - 1] = 0;
        free(ea); free(es); free(ec);
        client_resp r;
        if (client_call(&c, "GET", path, NULL, 0, &r) != 0) goto done;
        if (r.status == 404 || r.status == 405) { client_resp_free(&r); break; }   /* older otad */
        if (r.status != 200) { client_fail(&c, &r, "devices"); client_resp_free(&r); goto done; }
        listed = 1;
        const cJSON *arr = cj_get(r.json, "devices"), *d;
        if (!arr) arr = cj_get(r.json, "items");
        cJSON_ArrayForEach(d, arr) {
            if (limit && (uint64_t)n >= limit) break;
            const cJSON *apps = cj_get(d, "apps"), *e;
            if (c.json || !cJSON_IsArray(apps)) {
                cJSON_AddItemToArray(out, cJSON_Duplicate(d, 1));
                n++;
                continue;
            }
            /* One line per app the device runs (the one asked for, else all). */
            int any = 0;
            cJSON_ArrayForEach(e, apps) {
                if (app && strcmp(cj_str(e, "app", ""), app) != 0) continue;
                cJSON *o = cJSON_CreateObject();
                cJSON_AddStringToObject(o, "id", cj_str(d, "id", "?"));
                cJSON_AddStringToObject(o, "app", cj_str(e, "app", "-"));
                cJSON_AddNumberToObject(o, "seq", cj_num(e, "seq", 0));
                if (cj_str(e, "state", NULL)) {
                    cJSON_AddStringToObject(o, "state", cj_str(e, "state", ""));
                    if (cj_num(e, "state_seq", -1) >= 0) cJSON_AddNumberToObject(o, "state_seq", cj_num(e, "state_seq", 0));
                }
                const cJSON *ls = cj_get(e, "last_seen");
                cJSON_AddItemToObject(o, "last_seen", cJSON_Duplicate(ls ? ls : cj_get(d, "last_seen"), 1));
                cJSON_AddItemToArray(out, o);
                any = 1;
            }
            if (!any) {
                cJSON *o = cJSON_CreateObject();
                cJSON_AddStringToObject(o, "id", cj_str(d, "id", "?"));
                cJSON_AddItemToObject(o, "last_seen", cJSON_Duplicate(cj_get(d, "last_seen"), 1));
                cJSON_AddItemToArray(out, o);
            }
            n++;
        }
        free(cursor);
        cursor = NULL;
        const char *nc = cj_str(r.json, "next_cursor", cj_str(r.json, "next", cj_str(r.json, "cursor", NULL)));
        if (nc && *nc && (!limit || (uint64_t)n < limit)) cursor = strdup(nc);
        client_resp_free(&r);
        if (!cursor) break;
    }
    if (!listed) {
        cJSON *res = NULL;
        if (fetch(&c, app, &res) != 0) goto done;
        const cJSON *a, *rel, *d;
        cJSON_ArrayForEach(a, cj_get(res, "apps")) {
            /* newest release first, a device listed once (its newest release) */
            const cJSON *rels = cj_get(a, "releases");
            for (int i = cJSON_GetArraySize(rels) - 1; i >= 0; i--) {
                rel = cJSON_GetArrayItem(rels, i);
                double rs = cj_num(rel, "seq", 0);
                if (seq_s && rs != (double)seq) continue;
                cJSON_ArrayForEach(d, cj_get(cj_get(rel, "detail"), "devices")) {
                    const char *id = cj_str(d, "id", "");
                    const cJSON *x;
                    int dup = 0;
                    cJSON_ArrayForEach(x, out)
                        if (strcmp(cj_str(x, "id", ""), id) == 0 &&
                            strcmp(cj_str(x, "app", ""), cj_str(a, "app", "")) == 0) dup = 1;
                    if (dup || (state && strcmp(cj_str(d, "state", ""), state) != 0)) continue;
                    if (limit && (uint64_t)n >= limit) break;
                    cJSON *o = cJSON_Duplicate(d, 1);
                    cJSON_AddStringToObject(o, "app", cj_str(a, "app", ""));
                    cJSON_AddNumberToObject(o, "seq", rs);
                    cJSON_AddItemToArray(out, o);
                    n++;
                }
            }
        }
        cJSON_Delete(res);
    }
    /* The reason of a bad state, from the device's record, when the list
     * does not carry it (at most 50 devices are looked up). */
    if (!c.json) {
        int looked = 0;
        cJSON *d;
        cJSON_ArrayForEach(d, out) {
            const char *st = cj_str(d, "state", "");
            if (cj_get(d, "detail") || looked >= 50 ||
                (strcmp(st, "rolled_back") != 0 && strcmp(st, "rejected") != 0 && strcmp(st, "failed") != 0))
                continue;
            looked++;
            char *e = client_escape(cj_str(d, "id", "")), path[256];
            snprintf(path, sizeof path, "/admin/devices/%s", e ? e : "");
            free(e);
            client_resp r;
            if (client_call(&c, "GET", path, NULL, 0, &r) != 0) break;
            const cJSON *rel, *best = NULL;
            cJSON_ArrayForEach(rel, cj_get(r.json, "releases"))
                if (strcmp(cj_str(rel, "app", ""), cj_str(d, "app", "")) == 0 &&
                    strcmp(cj_str(rel, "state", ""), st) == 0 &&
                    (!best || cj_num(rel, "seq", 0) > cj_num(best, "seq", 0)))
                    best = rel;
            if (best) {
                char det[300];
                snprintf(det, sizeof det, "seq %.0f: %s", cj_num(best, "seq", 0), cj_str(best, "detail", ""));
                cJSON_AddStringToObject(d, "detail", det);
            }
            client_resp_free(&r);
        }
    }
    if (c.json) {
        cJSON *doc = cJSON_CreateObject();
        cJSON_AddItemToObject(doc, "devices", out);
        out = NULL;
        char *s = cJSON_PrintUnformatted(doc);
        if (s) printf("%s\n", s);
        cJSON_free(s);
        cJSON_Delete(doc);
    } else {
        printf("%-24s %-12s %6s  %-12s %-12s %s\n", "device", "app", "seq", "state", "last seen", "why");
        const cJSON *d;
        cJSON_ArrayForEach(d, out) device_line(d);
        printf("%ld device%s\n", n, n == 1 ? "" : "s");
    }
    rc = EXIT_OK;
done:
    free(cursor);
    cJSON_Delete(out);
    client_free(&c);
    return rc;
}
