/*
 * routes_admin.c: the admin API under /admin/ (Authorization: Bearer TOKEN).
 * server/README.md has the table; in short:
 *
 *   POST   /admin/releases                 {statement: base64, bundle: base64}
 *   GET    /admin/releases[?app=A]
 *   POST   /admin/rollouts                 {app, seq, percent, allow, pins, waves, wave_fraction,
 *                                           error_threshold, min_reports, state, replace}
 *   PATCH  /admin/rollouts[/<app>]         same members, and action: pause|resume|abort, reason
 *   GET    /admin/rollouts/<app>           rollouts with history, wave status, per-release counts
 *   GET    /admin/rollouts/<app>/cost[?rollout=|seq=]  data cost of a release, per device
 *   POST   /admin/devices                  {id} -> secret (always made) shown once
 *   GET    /admin/devices?app=&seq=&state=&seen_since=&seen_before=&limit=&cursor=
 *   GET    /admin/devices/<id>
 *   DELETE /admin/devices/<id>             retire
 *   POST   /admin/devices/<id>/rekey       new secret, shown once
 *   GET    /admin/devices/<id>/blocks
 *   DELETE /admin/devices/<id>/blocks[/<app>/<seq>]
 *   GET    /admin/devices/<id>/cost        data cost per release and idle polls
 *   GET    /admin/audit?limit=&cursor=
 *   POST   /admin/reload                   release keys + admin token (also SIGHUP)
 *
 * Every answer is JSON; errors are {"error": code, "message": text}.  A
 * member an endpoint does not know is refused.  Every change is written to
 * the audit log with the caller's token fingerprint.
 */
#include "otad.h"
#include "keyset.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "ota_encode.h"
#include "nudge.h"

/* ---- helpers ------------------------------------------------------------------ */

/* What the audit log says about the request being handled (one thread
 * handles one request from start to reply). */
static _Thread_local char tl_summary[256];
static _Thread_local char tl_actor[24];

#define SUMMARY(...) snprintf(tl_summary, sizeof tl_summary, __VA_ARGS__)

/* "token:" + 8 hex of SHA-256(presented token): who, never the secret. */
static void actor_of(srv_req *q, char out[24])
{
    const char *h = srv_header(q, "Authorization");
    const char *t = h && strncasecmp(h, "Bearer ", 7) == 0 ? h + 7 : "";
    while (*t == ' ') t++;
    uint8_t d[32];
    crypto_hash_sha256(d, (const uint8_t *)t, strlen(t));
    char hex[9];
    ota_hex_encode(hex, sizeof hex, d, 4);
    snprintf(out, 24, "token:%s", hex);
}

static void add_time(srv_buf *b, const char *name, int64_t t)
{
    char iso[24];
    srv_time_iso(iso, t);
    srv_buf_printf(b, ",\"%s\":\"%s\"", name, iso);
}

/* ISO 8601 UTC ("2026-12-03T19:12:05Z", also without seconds or Z) or epoch seconds. */
static bool parse_time(const char *s, int64_t *out)
{
    if (!s || !*s) return false;
    bool digits = true;
    for (const char *p = s; *p; p++) digits &= *p >= '0' && *p <= '9';
    if (digits && strlen(s) <= 12) { *out = strtoll(s, NULL, 10); return true; }
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *e = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!e) e = strptime(s, "%Y-%m-%dT%H:%M", &tm);
    if (!e) e = strptime(s, "%Y-%m-%d", &tm);
    if (!e || (*e && strcmp(e, "Z") != 0)) return false;
    *out = (int64_t)timegm(&tm);
    return true;
}

static void release_json(srv_buf *b, const srv_release *r, uint64_t pending)
{
    srv_buf_addstr(b, "{\"app\":");
    srv_buf_json_str(b, r->app);
    srv_buf_printf(b, ",\"seq\":%" PRIu64 ",\"label\":", r->seq);
    srv_buf_json_str(b, r->label);
    srv_buf_addstr(b, ",\"board\":");
    srv_buf_json_str(b, r->board);
    srv_buf_printf(b, ",\"key_id\":\"%s\",\"size\":%" PRIu64 ",\"sha256\":\"%s\","
                      "\"statement_sha256\":\"%s\",\"url\":\"/bundle/%s\"",
                   r->key_id, r->size, r->bundle_sha256, r->statement_sha256, r->bundle_sha256);
    add_time(b, "created", r->created);
    srv_buf_printf(b, ",\"bytes_served\":%" PRIu64 "}", r->bytes_served + pending);
}

static void wave_json(srv_buf *b, const ro_wave_status *w)
{
    if (!w) { srv_buf_addstr(b, ",\"wave\":null,\"waiting\":null"); return; }
    srv_buf_printf(b, ",\"wave\":{\"wave\":%d,\"waves\":%d,\"percent\":%g,\"next_percent\":",
                   w->wave, w->n_waves, w->percent);
    if (w->next_percent < 0) srv_buf_addstr(b, "null");
    else srv_buf_printf(b, "%g", w->next_percent);
    srv_buf_printf(b, ",\"population\":%lld,\"confirmed\":%lld,\"needs\":%lld,\"known\":%lld},\"waiting\":",
                   (long long)w->population, (long long)w->confirmed, (long long)w->needs,
                   (long long)w->known);
    srv_buf_json_str(b, w->waiting);
}

/* A rollout; with_live adds the wave status (current rollout only). */
static void rollout_json(srv_buf *b, const srv_rollout *r, bool with_live)
{
    srv_buf_printf(b, "{\"id\":%lld,\"app\":", (long long)r->id);
    srv_buf_json_str(b, r->app);
    srv_buf_printf(b, ",\"seq\":%" PRIu64 ",\"percent\":%g,\"allow\":%s,\"pins\":%s,\"waves\":%s,"
                      "\"wave_fraction\":%g,\"state\":\"%s\",",
                   r->seq, r->percent, r->allow_json ? r->allow_json : "[]",
                   r->pins_json ? r->pins_json : "{}", r->waves_json ? r->waves_json : "[]",
                   r->wave_fraction, r->state);
    if (r->error_threshold > 1.0) srv_buf_addstr(b, "\"error_threshold\":null");
    else srv_buf_printf(b, "\"error_threshold\":%g", r->error_threshold);
    srv_buf_printf(b, ",\"min_reports\":%lld,\"reason\":", (long long)r->min_reports);
    srv_buf_json_str(b, r->reason);
    add_time(b, "created", r->created);
    add_time(b, "updated", r->updated);
    if (with_live) wave_json(b, srv_wave_status(r->app));
    srv_buf_addstr(b, ",\"history\":");
    if (g_srv.store->ops->history_json(g_srv.store, r->id, b) != 0) srv_buf_addstr(b, "[]");
    srv_buf_addstr(b, "}");
}

static uint64_t pending_served(const char *app, uint64_t seq)
{
    char key[64];
    int n = snprintf(key, sizeof key, "%s/%" PRIu64, app, seq);
    srv_rel *x = srv_map_get(&g_srv.rels_all, key, (size_t)n);   /* admin_mu held */
    return x ? atomic_load(&x->served_pending) : 0;
}

static cJSON *parse_body(srv_req *q)
{
    cJSON *j = cJSON_ParseWithLength(q->body, q->body_len);
    if (j && !cJSON_IsObject(j)) { cJSON_Delete(j); j = NULL; }
    return j;
}

/* The first member of j not in allowed (NULL-terminated), or NULL. */
static const char *unknown_member(const cJSON *j, const char *const *allowed)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, j) {
        bool ok = false;
        for (const char *const *a = allowed; *a && !ok; a++) ok = strcmp(*a, it->string) == 0;
        if (!ok) return it->string;
    }
    return NULL;
}

static enum MHD_Result reply_unknown(srv_req *q, const char *name, const char *const *allowed)
{
    char msg[512];
    int n = snprintf(msg, sizeof msg, "unknown member \"%.60s\"; this endpoint takes:", name);
    for (const char *const *a = allowed; *a && n > 0 && (size_t)n < sizeof msg; a++)
        n += snprintf(msg + n, sizeof msg - (size_t)n, " %s", *a);
    return srv_reply_error(q, 400, "unknown_field", msg);
}

/* ---- releases ------------------------------------------------------------------ */

static enum MHD_Result release_upload(srv_req *q)
{
    cJSON *j = parse_body(q);
    if (!j) return srv_reply_error(q, 400, "bad_json", "body: {\"statement\": base64, \"bundle\": base64}");
    static const char *const allowed[] = { "statement", "bundle", NULL };
    const char *unk = unknown_member(j, allowed);
    if (unk) {
        enum MHD_Result r0 = reply_unknown(q, unk, allowed);
        cJSON_Delete(j);
        return r0;
    }
    cJSON *js = cJSON_GetObjectItemCaseSensitive(j, "statement");
    cJSON *jb = cJSON_GetObjectItemCaseSensitive(j, "bundle");
    if (!cJSON_IsString(js) || !cJSON_IsString(jb)) {
        cJSON_Delete(j);
        return srv_reply_error(q, 400, "bad_json", "body: {\"statement\": base64, \"bundle\": base64}");
    }
    uint8_t stmt[OTA_STATEMENT_SIZE + 4];
    size_t slen = 0;
    if (ota_base64_decode(stmt, sizeof stmt, &slen, js->valuestring, strlen(js->valuestring),
                          OTA_B64_STD) != OTA_OK) {
        cJSON_Delete(j);
        return srv_reply_error(q, 400, "bad_statement", "statement: not the base64 of a 336-byte statement");
    }
    /* The same verifier the devices run: framing, trusted key, signature,
     * every field rule. */
    ota_statement st;
    ota_err e = srv_keyset_verify_statement(&st, stmt, slen);   /* keys trusted now (keyset.c) */
    if (e != OTA_OK) {
        cJSON_Delete(j);
        char msg[128];
        snprintf(msg, sizeof msg, "statement refused: %s", ota_strerror(e));
        return srv_reply_error(q, 422, "bad_statement", msg);
    }
    size_t b64len = strlen(jb->valuestring);
    size_t cap = b64len / 4 * 3 + 3;
    uint8_t *bundle = malloc(cap ? cap : 1);
    size_t blen = 0;
    if (!bundle) { cJSON_Delete(j); return srv_reply_error(q, 500, "internal", "out of memory"); }
    if (ota_base64_decode(bundle, cap, &blen, jb->valuestring, b64len, OTA_B64_STD) != OTA_OK) {
        free(bundle);
        cJSON_Delete(j);
        return srv_reply_error(q, 400, "bad_bundle", "bundle: not valid base64");
    }
    cJSON_Delete(j);
    uint8_t h[32];
    ota_sha256(h, bundle, blen);
    e = ota_release_check_bundle(&st, h, blen);
    if (e != OTA_OK) {
        free(bundle);
        char msg[128];
        snprintf(msg, sizeof msg, "bundle does not match the statement: %s", ota_strerror(e));
        return srv_reply_error(q, 422, "bad_bundle", msg);
    }

    srv_release r;
    memset(&r, 0, sizeof r);
    memcpy(r.app, st.app, st.app_len);
    memcpy(r.board, st.board, st.board_len);
    memcpy(r.label, st.label, st.label_len);
    r.seq = st.seq;
    r.statement = stmt;
    r.statement_len = slen;
    uint8_t sh[32];
    ota_sha256(sh, stmt, slen);
    ota_hex_encode(r.statement_sha256, sizeof r.statement_sha256, sh, 32);
    ota_hex_encode(r.bundle_sha256, sizeof r.bundle_sha256, st.sha256, 32);
    ota_hex_encode(r.key_id, sizeof r.key_id, st.key_id, OTA_KEY_ID_SIZE);
    r.size = st.size;
    r.created = srv_now();

    /* Bundle first (content-addressed, so rewriting it is harmless), then
     * the row that makes it visible. */
    char path[4096];
    snprintf(path, sizeof path, "%s/bundles/%s", g_srv.cfg.data_dir, r.bundle_sha256);
    struct stat sb;
    if ((stat(path, &sb) != 0 || (uint64_t)sb.st_size != r.size) &&
        srv_write_file_atomic(path, bundle, blen, 0644) != 0) {
        free(bundle);
        return srv_reply_error(q, 500, "io", "cannot write the bundle file");
    }
    /* A shared store (several replicas) keeps the bundle too, before the
     * release row: whichever replica a device asks can serve it. */
    if (g_srv.store->ops->bundle_put &&
        g_srv.store->ops->bundle_put(g_srv.store, r.bundle_sha256, bundle, blen) != 0) {
        free(bundle);
        return srv_reply_error(q, 500, "store", "bundle not stored");
    }
    free(bundle);

    pthread_mutex_lock(&g_srv.admin_mu);
    int rc = g_srv.store->ops->release_put(g_srv.store, &r);
    if (rc == SRV_STORE_CONFLICT) {
        pthread_mutex_unlock(&g_srv.admin_mu);
        return srv_reply_error(q, 409, "conflict",
                               "this app already has another release with this sequence");
    }
    if (rc < 0) {
        pthread_mutex_unlock(&g_srv.admin_mu);
        return srv_reply_error(q, 500, "store", "release not stored");
    }
    if (srv_snapshot_rebuild() != 0) {
        pthread_mutex_unlock(&g_srv.admin_mu);
        return srv_reply_error(q, 500, "snapshot",
                               "release stored, but the server could not apply it: no offers until it can");
    }
    pthread_mutex_unlock(&g_srv.admin_mu);
    SUMMARY("release %s seq %" PRIu64 " %s", r.app, r.seq, rc == 1 ? "already there" : "published");
    srv_buf b = {0};
    release_json(&b, &r, 0);
    srv_buf_addstr(&b, "\n");
    return srv_reply_buf(q, rc == 1 ? 200 : 201, &b);
}

typedef struct list_ctx { srv_buf *b; const char *app; int n; } list_ctx;

static void release_list_cb(const srv_release *r, void *arg)
{
    list_ctx *x = arg;
    if (x->app && strcmp(x->app, r->app) != 0) return;
    if (x->n++) srv_buf_addstr(x->b, ",");
    release_json(x->b, r, pending_served(r->app, r->seq));
}

static enum MHD_Result release_list(srv_req *q)
{
    const char *app = srv_query(q, "app");
    if (app && !srv_app_ok(app, strlen(app))) return srv_reply_error(q, 400, "bad_app", "app: invalid name");
    srv_buf b = {0};
    list_ctx x = { &b, app, 0 };
    srv_buf_addstr(&b, "{\"releases\":[");
    pthread_mutex_lock(&g_srv.admin_mu);
    int rc = g_srv.store->ops->release_list(g_srv.store, release_list_cb, &x);
    pthread_mutex_unlock(&g_srv.admin_mu);
    srv_buf_addstr(&b, "]}\n");
    if (rc != 0) { srv_buf_free(&b); return srv_reply_error(q, 500, "store", "cannot list releases"); }
    return srv_reply_buf(q, 200, &b);
}

/* ---- rollouts -------------------------------------------------------------------- */

static bool release_exists(const char *app, uint64_t seq)
{
    char key[64];
    int n = snprintf(key, sizeof key, "%s/%" PRIu64, app, seq);
    return srv_map_get(&g_srv.rels_all, key, (size_t)n) != NULL;   /* admin_mu held */
}

static bool whole(const cJSON *v, double lo, double hi)
{
    return cJSON_IsNumber(v) && v->valuedouble >= lo && v->valuedouble <= hi &&
           v->valuedouble == (double)(int64_t)v->valuedouble;
}

/* Apply the members of j to ro (admin_mu held).  Returns NULL or an error
 * text; *changed lists what changed (for the history). */
static const char *apply_rollout(srv_rollout *ro, const cJSON *j, char **allow, char **pins,
                                 char **waves, char *changed, size_t cap)
{
    const cJSON *v;
    size_t cl = strlen(changed);
#define CHANGED(name) do { cl += (size_t)snprintf(changed + cl, cl < cap ? cap - cl : 0, "%s%s", \
                                                  cl ? ", " : "", name); if (cl >= cap) cl = cap - 1; } while (0)
    if (cJSON_GetObjectItemCaseSensitive(j, "wave_confirmed"))
        return "wave_confirmed (an absolute count of devices) is gone: waves now need a share of "
               "the devices each wave includes; send \"wave_fraction\" (0 < f <= 1, default 0.8)";
    if ((v = cJSON_GetObjectItemCaseSensitive(j, "percent"))) {
        if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 100)
            return "percent: a number from 0 to 100";
        ro->percent = v->valuedouble;
        CHANGED("percent");
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(j, "allow"))) {
        if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > 100000) return "allow: an array of device ids";
        const cJSON *it;
        cJSON_ArrayForEach(it, v)
            if (!cJSON_IsString(it) || !srv_device_id_ok(it->valuestring, strlen(it->valuestring)))
                return "allow: every entry must be a valid device id";
        *allow = cJSON_PrintUnformatted(v);
        CHANGED("allow");
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(j, "pins"))) {
        if (!cJSON_IsObject(v)) return "pins: an object {device id: seq}";
        const cJSON *it;
        cJSON_ArrayForEach(it, v) {
            if (!srv_device_id_ok(it->string, strlen(it->string))) return "pins: invalid device id";
            if (!whole(it, 0, 9007199254740991.0)) return "pins: values are release sequences (0 = hold)";
            if (it->valuedouble > 0 && !release_exists(ro->app, (uint64_t)it->valuedouble))
                return "pins: no such release of this app";
        }
        *pins = cJSON_PrintUnformatted(v);
        CHANGED("pins");
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(j, "waves"))) {
        if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > SRV_MAX_WAVES)
            return "waves: an array of at most 16 percentages";
        const cJSON *it;
        double prev = 0;
        cJSON_ArrayForEach(it, v) {
            if (!cJSON_IsNumber(it) || it->valuedouble <= prev || it->valuedouble > 100)
                return "waves: ascending percentages above 0, at most 100";
            prev = it->valuedouble;
        }
        *waves = cJSON_PrintUnformatted(v);
        CHANGED("waves");
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(j, "wave_fraction"))) {
        if (!cJSON_IsNumber(v) || !(v->valuedouble > 0) || v->valuedouble > 1)
            return "wave_fraction: the share of a wave's devices that must confirm, 0 < f <= 1";
        ro->wave_fraction = v->valuedouble;
        CHANGED("wave_fraction");
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(j, "error_threshold"))) {
        if (cJSON_IsNull(v)) ro->error_threshold = 2.0;
        else if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1)
            return "error_threshold: a fraction from 0 to 1, or null for none";
        else ro->error_threshold = v->valuedouble;
        CHANGED("error_threshold");
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(j, "min_reports"))) {
        if (!whole(v, 1, 1e12)) return "min_reports: a whole number >= 1";
        ro->min_reports = (int64_t)v->valuedouble;
        CHANGED("min_reports");
    }
#undef CHANGED
    return NULL;
}

static enum MHD_Result rollout_reply(srv_req *q, unsigned status, const srv_rollout *ro)
{
    srv_buf b = {0};
    rollout_json(&b, ro, true);
    srv_buf_addstr(&b, "\n");
    return srv_reply_buf(q, status, &b);
}

static const char *const rollout_create_members[] = {
    "app", "seq", "percent", "allow", "pins", "waves", "wave_fraction", "error_threshold",
    "min_reports", "state", "replace", "wave_confirmed", NULL,
};

static enum MHD_Result rollout_create(srv_req *q)
{
    cJSON *j = parse_body(q);
    if (!j) return srv_reply_error(q, 400, "bad_json", "body: a JSON object {app, seq, percent, ...}");
    const char *unk = unknown_member(j, rollout_create_members);
    if (unk) {
        enum MHD_Result r0 = reply_unknown(q, unk, rollout_create_members);
        cJSON_Delete(j);
        return r0;
    }
    const cJSON *app = cJSON_GetObjectItemCaseSensitive(j, "app");
    const cJSON *seq = cJSON_GetObjectItemCaseSensitive(j, "seq");
    const cJSON *rep = cJSON_GetObjectItemCaseSensitive(j, "replace");
    if (!cJSON_IsString(app) || !srv_app_ok(app->valuestring, strlen(app->valuestring)) ||
        !whole(seq, 1, 9007199254740991.0)) {
        cJSON_Delete(j);
        return srv_reply_error(q, 400, "bad_rollout", "app (name) and seq (>= 1) are required");
    }
    if (rep && !cJSON_IsBool(rep)) {
        cJSON_Delete(j);
        return srv_reply_error(q, 400, "bad_rollout", "replace: true or false");
    }
    srv_rollout ro;
    memset(&ro, 0, sizeof ro);
    snprintf(ro.app, sizeof ro.app, "%s", app->valuestring);
    ro.seq = (uint64_t)seq->valuedouble;
    ro.percent = 100;
    ro.wave_fraction = 0.8;
    ro.error_threshold = 2.0;
    ro.min_reports = 5;
    snprintf(ro.state, sizeof ro.state, "%s", SRV_RO_ACTIVE);
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "state");
    if (st) {
        if (!cJSON_IsString(st) || (strcmp(st->valuestring, SRV_RO_ACTIVE) != 0 &&
                                    strcmp(st->valuestring, SRV_RO_PAUSED) != 0)) {
            cJSON_Delete(j);
            return srv_reply_error(q, 400, "bad_rollout", "state: active or paused");
        }
        snprintf(ro.state, sizeof ro.state, "%s", st->valuestring);
    }
    char *allow = NULL, *pins = NULL, *waves = NULL;
    char changed[200] = "";
    pthread_mutex_lock(&g_srv.admin_mu);
    enum MHD_Result ret;
    const char *err = apply_rollout(&ro, j, &allow, &pins, &waves, changed, sizeof changed);
    srv_appview *cur = srv_appview_get(ro.app);
    if (err) {
        ret = srv_reply_error(q, 400, cJSON_GetObjectItemCaseSensitive(j, "wave_confirmed")
                                          ? "removed_field" : "bad_rollout", err);
    } else if (!release_exists(ro.app, ro.seq)) {
        ret = srv_reply_error(q, 404, "unknown_release", "no such release: publish it first");
    } else if (cur && !cJSON_IsTrue(rep)) {
        char msg[300];
        snprintf(msg, sizeof msg,
                 "app %s already has rollout %lld (seq %" PRIu64 ", %s%s%.100s): PATCH /admin/rollouts/%s "
                 "to change it, or send \"replace\": true to supersede it",
                 ro.app, (long long)cur->ro.id, cur->ro.seq, cur->ro.state, cur->ro.reason[0] ? ": " : "",
                 cur->ro.reason, ro.app);
        ret = srv_reply_error(q, 409, "rollout_exists", msg);
    } else {
        ro.allow_json = allow ? allow : "[]";
        ro.pins_json = pins ? pins : "{}";
        ro.waves_json = waves ? waves : "[]";
        /* Waves start at the first wave unless a percentage is given. */
        if (waves && !cJSON_GetObjectItemCaseSensitive(j, "percent")) {
            cJSON *w = cJSON_Parse(waves);
            if (cJSON_GetArraySize(w) > 0) ro.percent = cJSON_GetArrayItem(w, 0)->valuedouble;
            cJSON_Delete(w);
        }
        ro.created = ro.updated = srv_now();
        int64_t old_id = cur ? cur->ro.id : 0;
        if (g_srv.store->ops->rollout_put(g_srv.store, &ro, true) != 0) {
            ret = srv_reply_error(q, 500, "store", "rollout not stored");
        } else if (srv_snapshot_rebuild() != 0) {
            ret = srv_reply_error(q, 500, "snapshot",
                                  "rollout stored, but the server could not apply it: no offers until it can");
        } else {
            char d[200];
            if (old_id) {
                snprintf(d, sizeof d, "replaced by rollout %lld", (long long)ro.id);
                srv_rollout_event(old_id, "superseded", tl_actor, d);
            }
            snprintf(d, sizeof d, "seq %" PRIu64 " at %g%%%s%s", ro.seq, ro.percent,
                     old_id ? ", replacing rollout " : "", "");
            if (old_id) snprintf(d + strlen(d), sizeof d - strlen(d), "%lld", (long long)old_id);
            srv_rollout_event(ro.id, old_id ? "replaced" : "created", tl_actor, d);
            SUMMARY("rollout %lld of %s: %s", (long long)ro.id, ro.app, d);
            srv_nudge(ro.app);   /* issue 10: LAN nudge, devices poll now */
            ret = rollout_reply(q, 201, &ro);
        }
    }
    pthread_mutex_unlock(&g_srv.admin_mu);
    cJSON_free(allow);
    cJSON_free(pins);
    cJSON_free(waves);
    cJSON_Delete(j);
    return ret;
}

static const char *const rollout_patch_members[] = {
    "app", "percent", "allow", "pins", "waves", "wave_fraction", "error_threshold", "min_reports",
    "action", "reason", "wave_confirmed", NULL,
};

static enum MHD_Result rollout_patch(srv_req *q, const char *path_app)
{
    cJSON *j = parse_body(q);
    if (!j) return srv_reply_error(q, 400, "bad_json", "body: a JSON object");
    const char *unk = unknown_member(j, rollout_patch_members);
    if (unk) {
        enum MHD_Result r0 = reply_unknown(q, unk, rollout_patch_members);
        cJSON_Delete(j);
        return r0;
    }
    const cJSON *ja = cJSON_GetObjectItemCaseSensitive(j, "app");
    const char *app = path_app && *path_app ? path_app : (cJSON_IsString(ja) ? ja->valuestring : NULL);
    if (!app || !srv_app_ok(app, strlen(app))) {
        cJSON_Delete(j);
        return srv_reply_error(q, 400, "bad_app", "app: name of the app whose rollout to change");
    }
    if (path_app && ja && (!cJSON_IsString(ja) || strcmp(ja->valuestring, path_app) != 0)) {
        cJSON_Delete(j);
        return srv_reply_error(q, 400, "bad_app", "app in the body names another app than the path");
    }
    const cJSON *act = cJSON_GetObjectItemCaseSensitive(j, "action");
    const cJSON *why = cJSON_GetObjectItemCaseSensitive(j, "reason");
    int action = act ? ro_action_parse(cJSON_IsString(act) ? act->valuestring : NULL) : -1;
    if (act && action < 0) {
        cJSON_Delete(j);
        return srv_reply_error(q, 400, "bad_action", "action: pause, resume or abort");
    }
    if (why && (!cJSON_IsString(why) || strlen(why->valuestring) > 200 || !act)) {
        cJSON_Delete(j);
        return srv_reply_error(q, 400, "bad_reason", "reason: a string of at most 200 bytes, with an action");
    }
    char *allow = NULL, *pins = NULL, *waves = NULL;
    char changed[200] = "";
    enum MHD_Result ret;
    pthread_mutex_lock(&g_srv.admin_mu);
    srv_appview *a = srv_appview_get(app);   /* stable under admin_mu */
    if (!a) {
        ret = srv_reply_error(q, 404, "no_rollout", "this app has no active or paused rollout");
        goto out;
    }
    srv_rollout ro = a->ro;
    const char *err = apply_rollout(&ro, j, &allow, &pins, &waves, changed, sizeof changed);
    if (err) {
        ret = srv_reply_error(q, 400, cJSON_GetObjectItemCaseSensitive(j, "wave_confirmed")
                                          ? "removed_field" : "bad_rollout", err);
        goto out;
    }
    if (allow) ro.allow_json = allow;
    if (pins) ro.pins_json = pins;
    if (waves) ro.waves_json = waves;
    const char *event = NULL;
    char detail[300] = "";
    if (act) {
        int ph = ro_phase_parse(ro.state);
        ro_phase phase = ph < 0 ? RO_PAUSED : (ro_phase)ph;
        const char *conflict = ro_action_apply(&phase, (ro_action)action);
        if (conflict) {
            char msg[300];
            snprintf(msg, sizeof msg, "cannot %s rollout %lld: %s", act->valuestring, (long long)ro.id, conflict);
            ret = srv_reply_error(q, 409, "conflict", msg);
            goto out;
        }
        const char *reason = cJSON_IsString(why) && *why->valuestring ? why->valuestring : "by admin";
        snprintf(ro.state, sizeof ro.state, "%s", ro_phase_name(phase));
        if (action == RO_ACT_PAUSE) {
            event = "paused";
            snprintf(ro.reason, sizeof ro.reason, "paused: %s", reason);
            snprintf(detail, sizeof detail, "%s", reason);
        } else if (action == RO_ACT_RESUME) {
            event = "resumed";
            /* The pause reason stays in the history; the rollout's own
             * reason is only what holds it now. */
            snprintf(detail, sizeof detail, "was %s%s", a->ro.reason[0] ? "" : "paused",
                     a->ro.reason);
            if (cJSON_IsString(why)) snprintf(detail + strlen(detail), sizeof detail - strlen(detail),
                                              "; %s", why->valuestring);
            ro.reason[0] = 0;
        } else {
            event = "aborted";
            snprintf(ro.reason, sizeof ro.reason, "aborted: %s", reason);
            snprintf(detail, sizeof detail, "%s", reason);
        }
    }
    ro.updated = srv_now();
    if (g_srv.store->ops->rollout_put(g_srv.store, &ro, false) != 0) {
        ret = srv_reply_error(q, 500, "store", "rollout not stored");
        goto out;
    }
    if (changed[0]) srv_rollout_event(ro.id, "updated", tl_actor, changed);
    if (event) srv_rollout_event(ro.id, event, tl_actor, detail);
    SUMMARY("rollout %lld of %s:%s%s%s%s", (long long)ro.id, app, event ? " " : "", event ? event : "",
            changed[0] ? " set " : "", changed);
    /* The answer before the rebuild frees the old json members ro points
     * at; after it, the live members from the new snapshot. */
    srv_buf b = {0};
    rollout_json(&b, &ro, false);
    if (srv_snapshot_rebuild() != 0) {
        srv_buf_free(&b);
        ret = srv_reply_error(q, 500, "snapshot",
                              "rollout stored, but the server could not apply it: no offers until it can");
        goto out;
    }
    srv_appview *na = srv_appview_get(app);
    if (na) {
        srv_buf_free(&b);
        rollout_json(&b, &na->ro, true);
    }
    srv_buf_addstr(&b, "\n");
    srv_nudge(ro.app);   /* issue 10: LAN nudge, devices poll now */
    ret = srv_reply_buf(q, 200, &b);
out:
    pthread_mutex_unlock(&g_srv.admin_mu);
    cJSON_free(allow);
    cJSON_free(pins);
    cJSON_free(waves);
    cJSON_Delete(j);
    return ret;
}

typedef struct ro_ctx { srv_rollout *v; size_t n, cap; const char *app; } ro_ctx;

static void ro_collect(const srv_rollout *r, void *arg)
{
    ro_ctx *x = arg;
    if (strcmp(r->app, x->app) != 0) return;
    if (x->n == x->cap) {
        size_t nc = x->cap ? x->cap * 2 : 8;
        srv_rollout *nv = realloc(x->v, nc * sizeof *nv);
        if (!nv) return;
        x->v = nv;
        x->cap = nc;
    }
    srv_rollout *c = &x->v[x->n++];
    *c = *r;
    c->allow_json = strdup(r->allow_json ? r->allow_json : "[]");
    c->pins_json = strdup(r->pins_json ? r->pins_json : "{}");
    c->waves_json = strdup(r->waves_json ? r->waves_json : "[]");
}

typedef struct rel_ctx { const char *app; srv_release *v; size_t nv, cap; } rel_ctx;

static void rel_collect(const srv_release *r, void *arg)
{
    rel_ctx *x = arg;
    if (strcmp(r->app, x->app) != 0) return;
    if (x->nv == x->cap) {
        size_t nc = x->cap ? x->cap * 2 : 8;
        srv_release *nv = realloc(x->v, nc * sizeof *nv);
        if (!nv) return;
        x->v = nv;
        x->cap = nc;
    }
    x->v[x->nv] = *r;
    x->v[x->nv].statement = NULL;   /* not needed; the row's buffer goes away */
    x->nv++;
}

static enum MHD_Result rollout_get(srv_req *q, const char *app)
{
    if (!srv_app_ok(app, strlen(app))) return srv_reply_error(q, 400, "bad_app", "app: invalid name");
    srv_buf b = {0};
    srv_buf_addstr(&b, "{\"app\":");
    srv_buf_json_str(&b, app);
    pthread_mutex_lock(&g_srv.admin_mu);
    srv_appview *a = srv_appview_get(app);
    srv_buf_addstr(&b, ",\"current\":");
    if (a) rollout_json(&b, &a->ro, true);
    else srv_buf_addstr(&b, "null");
    const ro_wave_status *w = a ? srv_wave_status(app) : NULL;
    srv_buf_addstr(&b, ",\"rollouts\":[");
    ro_ctx rx = { NULL, 0, 0, app };
    int rc = g_srv.store->ops->rollout_list(g_srv.store, ro_collect, &rx);
    for (size_t i = rx.n; rc == 0 && i-- > 0;) {   /* newest first */
        if (i + 1 < rx.n) srv_buf_addstr(&b, ",");
        rollout_json(&b, &rx.v[i], false);
    }
    srv_buf_addstr(&b, "],\"releases\":[");
    rel_ctx lx = { app, NULL, 0, 0 };
    if (rc == 0) rc = g_srv.store->ops->release_list(g_srv.store, rel_collect, &lx);
    for (size_t i = 0; rc == 0 && i < lx.nv; i++) {
        srv_release *r = &lx.v[i];
        srv_release_counts c;
        if (i) srv_buf_addstr(&b, ",");
        srv_buf_printf(&b, "{\"seq\":%" PRIu64 ",\"label\":", r->seq);
        srv_buf_json_str(&b, r->label);
        srv_buf_addstr(&b, ",\"board\":");
        srv_buf_json_str(&b, r->board);
        srv_buf_printf(&b, ",\"sha256\":\"%s\",\"size\":%" PRIu64 ",\"bytes_served\":%" PRIu64,
                       r->bundle_sha256, r->size, r->bytes_served + pending_served(app, r->seq));
        rc = g_srv.store->ops->release_counts(g_srv.store, app, r->seq, &c);
        if (rc != 0) break;
        /* Denominators: the devices the current rollout targets, and every
         * device offered the release; progress counts confirmed only. */
        srv_buf_printf(&b, ",\"counts\":{\"offered\":%lld", (long long)c.offered);
        for (int k = 0; k < SRV_NSTATES; k++)
            srv_buf_printf(&b, ",\"%s\":%lld", srv_states[k], (long long)c.by_state[k]);
        srv_buf_addstr(&b, "},\"targeted\":");
        bool cur = a && a->ro.seq == r->seq && w;
        if (cur) srv_buf_printf(&b, "%lld", (long long)w->population);
        else srv_buf_addstr(&b, "null");
        srv_buf_printf(&b, ",\"progress\":\"%lld confirmed of %lld offered", (long long)c.by_state[RO_ST_CONFIRMED],
                       (long long)c.offered);
        if (cur) srv_buf_printf(&b, ", %lld targeted now", (long long)w->population);
        srv_buf_addstr(&b, "\",\"reasons\":");
        rc = g_srv.store->ops->reasons_json(g_srv.store, app, r->seq, &b);
        srv_buf_addstr(&b, "}");
    }
    pthread_mutex_unlock(&g_srv.admin_mu);
    for (size_t i = 0; i < rx.n; i++) {
        free(rx.v[i].allow_json);
        free(rx.v[i].pins_json);
        free(rx.v[i].waves_json);
    }
    free(rx.v);
    free(lx.v);
    srv_buf_addstr(&b, "]}\n");
    if (rc != 0) { srv_buf_free(&b); return srv_reply_error(q, 500, "store", "cannot read rollout state"); }
    if (!a && rx.n == 0 && lx.nv == 0) {
        srv_buf_free(&b);
        return srv_reply_error(q, 404, "unknown_app", "no releases or rollouts for this app");
    }
    return srv_reply_buf(q, 200, &b);
}

/* ---- devices ----------------------------------------------------------------------- */

static void secret_answer(srv_buf *b, const char *dev, const uint8_t secret[SRV_SECRET_SIZE])
{
    srv_buf_addstr(b, "{\"id\":");
    srv_buf_json_str(b, dev);
    if (secret) {
        char hex[65];
        ota_hex_encode(hex, sizeof hex, secret, SRV_SECRET_SIZE);
        srv_buf_printf(b, ",\"secret\":\"%s\"", hex);
        sodium_memzero(hex, sizeof hex);
    }
    char pk[65];
    ota_hex_encode(pk, sizeof pk, g_srv.server_pk, 32);
    srv_buf_printf(b, ",\"server_key\":\"%s\"}\n", pk);
}

static enum MHD_Result device_create(srv_req *q)
{
    cJSON *j = parse_body(q);
    if (!j) return srv_reply_error(q, 400, "bad_json", "body: {\"id\": device id, \"secret\": true}");
    static const char *const allowed[] = { "id", "secret", NULL };
    const char *unk = unknown_member(j, allowed);
    if (unk) {
        enum MHD_Result r0 = reply_unknown(q, unk, allowed);
        cJSON_Delete(j);
        return r0;
    }
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id");
    const cJSON *sec = cJSON_GetObjectItemCaseSensitive(j, "secret");
    if (!cJSON_IsString(id) || !srv_device_id_ok(id->valuestring, strlen(id->valuestring))) {
        cJSON_Delete(j);
        return srv_reply_error(q, 400, "bad_device",
                               "id: 1..32 characters of [A-Za-z0-9._:-], first a letter or digit");
    }
    if (sec && !cJSON_IsBool(sec)) {
        cJSON_Delete(j);
        return srv_reply_error(q, 400, "bad_device", "secret: true or false (accepted, ignored)");
    }
    /* Every device gets a secret, in every tier: its reports are MAC'd
     * (report wire format v2).  "secret" is still accepted, but ignored. */
    bool want_secret = true;
    char dev[OTA_DEVICE_ID_MAX + 1];
    snprintf(dev, sizeof dev, "%s", id->valuestring);
    cJSON_Delete(j);
    uint8_t secret[SRV_SECRET_SIZE], enc[SRV_SECRET_ENC_SIZE];
    if (want_secret) {
        randombytes_buf(secret, sizeof secret);
        srv_secret_seal(enc, secret, dev);
    }
    int rc = g_srv.store->ops->device_create(g_srv.store, dev, want_secret ? enc : NULL,
                                             want_secret ? sizeof enc : 0, srv_now());
    if (rc == SRV_STORE_CONFLICT) {
        sodium_memzero(secret, sizeof secret);
        return srv_reply_error(q, 409, "exists",
                               "this device already exists: POST /admin/devices/<id>/rekey for a new "
                               "secret, or DELETE /admin/devices/<id> to retire it");
    }
    if (rc != 0) {
        sodium_memzero(secret, sizeof secret);
        return srv_reply_error(q, 500, "store", "device not stored");
    }
    if (want_secret && srv_secret_remember(dev, secret) != 0) {
        sodium_memzero(secret, sizeof secret);
        return srv_reply_error(q, 500, "memory",
                               "device stored, but its secret could not be loaded: restart otad");
    }
    SUMMARY("device %s added%s", dev, want_secret ? " with a secret" : "");
    srv_buf b = {0};
    secret_answer(&b, dev, want_secret ? secret : NULL);
    sodium_memzero(secret, sizeof secret);
    return srv_reply_buf(q, 201, &b);
}

static enum MHD_Result device_rekey(srv_req *q, const char *dev)
{
    if (q->body_len > 0) {
        cJSON *j = parse_body(q);
        static const char *const allowed[] = { NULL };
        const char *unk = j ? unknown_member(j, allowed) : NULL;
        enum MHD_Result r0 = MHD_YES;
        if (!j) r0 = srv_reply_error(q, 400, "bad_json", "body: empty or {}");
        else if (unk) r0 = reply_unknown(q, unk, allowed);
        cJSON_Delete(j);
        if (!j || unk) return r0;
    }
    uint8_t secret[SRV_SECRET_SIZE], enc[SRV_SECRET_ENC_SIZE];
    randombytes_buf(secret, sizeof secret);
    srv_secret_seal(enc, secret, dev);
    int rc = g_srv.store->ops->device_rekey(g_srv.store, dev, enc, sizeof enc);
    if (rc == SRV_STORE_NOTFOUND) {
        sodium_memzero(secret, sizeof secret);
        return srv_reply_error(q, 404, "unknown_device", "no such device: POST /admin/devices to add it");
    }
    if (rc != 0) {
        sodium_memzero(secret, sizeof secret);
        return srv_reply_error(q, 500, "store", "secret not stored");
    }
    if (srv_secret_remember(dev, secret) != 0) {
        sodium_memzero(secret, sizeof secret);
        return srv_reply_error(q, 500, "memory",
                               "new secret stored, but it could not be loaded: restart otad");
    }
    SUMMARY("device %s re-keyed", dev);
    srv_buf b = {0};
    secret_answer(&b, dev, secret);
    sodium_memzero(secret, sizeof secret);
    return srv_reply_buf(q, 200, &b);
}

static enum MHD_Result device_delete(srv_req *q, const char *dev)
{
    int rc = g_srv.store->ops->device_delete(g_srv.store, dev);
    if (rc == SRV_STORE_NOTFOUND) return srv_reply_error(q, 404, "unknown_device", "no such device");
    if (rc != 0) return srv_reply_error(q, 500, "store", "device not retired");
    srv_secret_forget(dev);
    srv_unblock(dev, NULL, 0);
    srv_fleet_forget(dev);
    pthread_mutex_lock(&g_srv.admin_mu);
    atomic_fetch_add(&g_srv.wave_dirty, 1);
    pthread_mutex_unlock(&g_srv.admin_mu);
    SUMMARY("device %s retired", dev);
    srv_buf b = {0};
    srv_buf_addstr(&b, "{\"id\":");
    srv_buf_json_str(&b, dev);
    srv_buf_addstr(&b, ",\"retired\":true}\n");
    return srv_reply_buf(q, 200, &b);
}

static enum MHD_Result device_get(srv_req *q, const char *id)
{
    srv_seen_flush();   /* show the latest polls */
    srv_buf b = {0};
    int rc = g_srv.store->ops->device_json(g_srv.store, id, &b);
    if (rc == SRV_STORE_NOTFOUND) { srv_buf_free(&b); return srv_reply_error(q, 404, "unknown_device", "no such device"); }
    if (rc != 0) { srv_buf_free(&b); return srv_reply_error(q, 500, "store", "cannot read device"); }
    srv_buf_addstr(&b, "\n");
    return srv_reply_buf(q, 200, &b);
}

static bool parse_u64s(const char *s, uint64_t *out)
{
    if (!s || !*s || strlen(s) > 19) return false;
    for (const char *p = s; *p; p++) if (*p < '0' || *p > '9') return false;
    *out = strtoull(s, NULL, 10);
    return true;
}

typedef struct qargs { const char *const *allowed; const char *unknown; } qargs;

static enum MHD_Result qarg_cb(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind; (void)value;
    qargs *a = cls;
    bool ok = false;
    for (const char *const *p = a->allowed; *p && !ok; p++) ok = strcmp(*p, key) == 0;
    if (!ok && !a->unknown) a->unknown = key;
    return MHD_YES;
}

/* The first query parameter not in allowed, or NULL. */
static const char *srv_query_unknown(srv_req *q, const char *const *allowed)
{
    qargs a = { allowed, NULL };
    MHD_get_connection_values(q->c, MHD_GET_ARGUMENT_KIND, qarg_cb, &a);
    return a.unknown;
}

static enum MHD_Result device_list(srv_req *q)
{
    static const char *const params[] = {
        "app", "seq", "state", "seen_since", "seen_before", "limit", "cursor", NULL,
    };
    const char *unk = srv_query_unknown(q, params);
    if (unk) {
        char msg[200];
        snprintf(msg, sizeof msg, "unknown parameter \"%.40s\"; use app, seq, state, seen_since, "
                                  "seen_before, limit, cursor", unk);
        return srv_reply_error(q, 400, "unknown_field", msg);
    }
    srv_device_filter f;
    memset(&f, 0, sizeof f);
    f.app = srv_query(q, "app");
    const char *seq = srv_query(q, "seq"), *state = srv_query(q, "state");
    const char *since = srv_query(q, "seen_since"), *before = srv_query(q, "seen_before");
    const char *limit = srv_query(q, "limit");
    f.cursor = srv_query(q, "cursor");
    if (f.app && !srv_app_ok(f.app, strlen(f.app))) return srv_reply_error(q, 400, "bad_app", "app: invalid name");
    if ((seq || state) && !f.app) return srv_reply_error(q, 400, "bad_filter", "seq and state filter one app: add app=");
    if (seq && !(f.has_seq = parse_u64s(seq, &f.seq))) return srv_reply_error(q, 400, "bad_seq", "seq: decimal");
    if (state && ro_state_parse(state) < 0 && strcmp(state, "offered") != 0)
        return srv_reply_error(q, 400, "bad_state", "state: downloading, downloaded, trial, confirmed, "
                                                    "rolled_back, rejected or failed");
    f.state = state;
    if (since && !(f.has_since = parse_time(since, &f.seen_since)))
        return srv_reply_error(q, 400, "bad_time", "seen_since: ISO 8601 UTC (2026-12-03T19:12:05Z) or epoch seconds");
    if (before && !(f.has_before = parse_time(before, &f.seen_before)))
        return srv_reply_error(q, 400, "bad_time", "seen_before: ISO 8601 UTC (2026-12-03T19:12:05Z) or epoch seconds");
    uint64_t lim = 100;
    if (limit && (!parse_u64s(limit, &lim) || lim < 1 || lim > 1000))
        return srv_reply_error(q, 400, "bad_limit", "limit: 1..1000");
    f.limit = (int)lim;
    if (f.cursor && !srv_device_id_ok(f.cursor, strlen(f.cursor)))
        return srv_reply_error(q, 400, "bad_cursor", "cursor: the next_cursor of the previous page");
    srv_seen_flush();
    srv_buf b = {0};
    if (g_srv.store->ops->device_list_json(g_srv.store, &f, &b) != 0) {
        srv_buf_free(&b);
        return srv_reply_error(q, 500, "store", "cannot list devices");
    }
    srv_buf_addstr(&b, "\n");
    return srv_reply_buf(q, 200, &b);
}

/* ---- data cost ---------------------------------------------------------------------
 *
 *   GET /admin/rollouts/<app>/cost[?rollout=<id>|seq=<n>]   one release's cost, per device
 *   GET /admin/devices/<id>/cost                           a device's cost, per release and idle
 *
 * Bytes on the wire above TCP, both ways (cost.c says how they are
 * counted), by class: manifest (polls that led to an offer), bundle,
 * reports; with request counts.  What is pending in memory is flushed
 * first, so the answer includes every request done before it. */

typedef struct cost_sum { uint64_t bytes[SRV_COST_NCLASS], reqs[SRV_COST_NCLASS]; } cost_sum;

static void cost_sum_add(cost_sum *t, const srv_cost *c)
{
    for (int k = 0; k < SRV_COST_NCLASS; k++) {
        t->bytes[k] += c->bytes[k];
        t->reqs[k] += c->reqs[k];
    }
}

static uint64_t cost_total(const uint64_t v[SRV_COST_NCLASS])
{
    uint64_t t = 0;
    for (int k = 0; k < SRV_COST_NCLASS; k++) t += v[k];
    return t;
}

/* "manifest":B,"bundle":B,"reports":B,"total":B,"requests":{...} */
static void cost_members(srv_buf *b, const uint64_t bytes[SRV_COST_NCLASS], const uint64_t reqs[SRV_COST_NCLASS])
{
    srv_buf_printf(b, "\"manifest\":%" PRIu64 ",\"bundle\":%" PRIu64 ",\"reports\":%" PRIu64
                      ",\"total\":%" PRIu64 ",\"requests\":{\"manifest\":%" PRIu64 ",\"bundle\":%" PRIu64
                      ",\"reports\":%" PRIu64 ",\"total\":%" PRIu64 "}",
                   bytes[0], bytes[1], bytes[2], cost_total(bytes), reqs[0], reqs[1], reqs[2], cost_total(reqs));
}

typedef struct cost_ctx {
    srv_buf *b;
    cost_sum total, unattributed, idle;
    size_t n;                  /* rows written to b */
    size_t devices;
    uint64_t max;
    char max_device[33];
    bool idle_rows;            /* device view: write idle rows (seq 0), else releases */
} cost_ctx;

static void rollout_cost_cb(const srv_cost *c, void *arg)
{
    cost_ctx *x = arg;
    cost_sum_add(&x->total, c);
    if (!c->device[0]) { cost_sum_add(&x->unattributed, c); return; }
    uint64_t t = cost_total(c->bytes);
    if (x->devices == 0 || t > x->max) {
        x->max = t;
        snprintf(x->max_device, sizeof x->max_device, "%s", c->device);
    }
    x->devices++;
    srv_buf_addstr(x->b, x->n++ ? ",{\"device\":" : "{\"device\":");
    srv_buf_json_str(x->b, c->device);
    srv_buf_addstr(x->b, ",");
    cost_members(x->b, c->bytes, c->reqs);
    srv_buf_addstr(x->b, "}");
}

static enum MHD_Result rollout_cost(srv_req *q, const char *app)
{
    static const char *const params[] = { "rollout", "seq", NULL };
    const char *unk = srv_query_unknown(q, params);
    if (unk) {
        char msg[160];
        snprintf(msg, sizeof msg, "unknown parameter \"%.40s\"; use rollout or seq", unk);
        return srv_reply_error(q, 400, "unknown_field", msg);
    }
    if (!srv_app_ok(app, strlen(app))) return srv_reply_error(q, 400, "bad_app", "app: invalid name");
    const char *ros = srv_query(q, "rollout"), *seqs = srv_query(q, "seq");
    uint64_t want_id = 0, seq = 0;
    if (ros && seqs) return srv_reply_error(q, 400, "bad_filter", "give rollout or seq, not both");
    if (ros && (!parse_u64s(ros, &want_id) || want_id < 1))
        return srv_reply_error(q, 400, "bad_rollout", "rollout: a rollout id, decimal");
    if (seqs && (!parse_u64s(seqs, &seq) || seq < 1))
        return srv_reply_error(q, 400, "bad_seq", "seq: a release sequence, decimal (1 or more)");
    /* Which rollout: the one asked for, else the app's current one, else its newest. */
    int64_t rid = 0;
    pthread_mutex_lock(&g_srv.admin_mu);
    srv_appview *a = srv_appview_get(app);
    ro_ctx rx = { NULL, 0, 0, app };
    int rc = g_srv.store->ops->rollout_list(g_srv.store, ro_collect, &rx);
    bool rel_known = seqs && release_exists(app, seq);
    pthread_mutex_unlock(&g_srv.admin_mu);
    if (rc == 0 && !seqs) {
        for (size_t i = 0; i < rx.n; i++) {
            bool pick = ros ? (uint64_t)rx.v[i].id == want_id
                            : (a ? rx.v[i].id == a->ro.id : i + 1 == rx.n);
            if (pick) { rid = rx.v[i].id; seq = rx.v[i].seq; }
        }
    } else if (rc == 0) {
        for (size_t i = 0; i < rx.n; i++)   /* the newest rollout of that release, if any */
            if (rx.v[i].seq == seq) rid = rx.v[i].id;
    }
    for (size_t i = 0; i < rx.n; i++) {
        free(rx.v[i].allow_json);
        free(rx.v[i].pins_json);
        free(rx.v[i].waves_json);
    }
    free(rx.v);
    if (rc != 0) return srv_reply_error(q, 500, "store", "cannot read rollouts");
    if (ros && !rid) return srv_reply_error(q, 404, "unknown_rollout", "no such rollout of this app");
    if (seqs && !rel_known) return srv_reply_error(q, 404, "unknown_release", "no such release of this app");
    if (!seqs && !rid) return srv_reply_error(q, 404, "unknown_app", "no rollout for this app");
    srv_cost_flush();
    srv_buf b = {0};
    srv_buf_addstr(&b, "{\"app\":");
    srv_buf_json_str(&b, app);
    srv_buf_printf(&b, ",\"seq\":%" PRIu64 ",\"rollout\":", seq);
    if (rid) srv_buf_printf(&b, "%lld", (long long)rid);
    else srv_buf_addstr(&b, "null");
    srv_buf_addstr(&b, ",\"by_device\":[");
    cost_ctx x;
    memset(&x, 0, sizeof x);
    x.b = &b;
    rc = g_srv.store->ops->cost_list(g_srv.store, NULL, app, true, seq, rollout_cost_cb, &x);
    if (rc != 0) { srv_buf_free(&b); return srv_reply_error(q, 500, "store", "cannot read data cost"); }
    srv_buf_printf(&b, "],\"devices\":%zu,\"total\":{", x.devices);
    cost_members(&b, x.total.bytes, x.total.reqs);
    srv_buf_addstr(&b, "},\"unattributed\":{");
    cost_members(&b, x.unattributed.bytes, x.unattributed.reqs);
    uint64_t attributed = cost_total(x.total.bytes) - cost_total(x.unattributed.bytes);
    srv_buf_printf(&b, "},\"per_device\":{\"mean\":%" PRIu64 ",\"max\":%" PRIu64 ",\"max_device\":",
                   x.devices ? (attributed + x.devices / 2) / x.devices : 0, x.max);
    if (x.devices) srv_buf_json_str(&b, x.max_device);
    else srv_buf_addstr(&b, "null");
    srv_buf_addstr(&b, "}}\n");
    return srv_reply_buf(q, 200, &b);
}

/* Rows of seq 0 hold idle polls (manifest) and reports about sequence 0 (an
 * offer refused before its statement named one): the polls are idle, the
 * reports an update row of seq 0. */
static void device_cost_cb(const srv_cost *c, void *arg)
{
    cost_ctx *x = arg;
    srv_cost v = *c;
    if (x->idle_rows) {
        if (c->seq != 0 || c->reqs[SRV_COST_MANIFEST] == 0) return;
        cost_sum_add(&x->idle, c);
        srv_buf_addstr(x->b, x->n++ ? ",{\"app\":" : "{\"app\":");
        srv_buf_json_str(x->b, c->app);
        srv_buf_printf(x->b, ",\"bytes\":%" PRIu64 ",\"requests\":%" PRIu64 "}", c->bytes[SRV_COST_MANIFEST],
                       c->reqs[SRV_COST_MANIFEST]);
        return;
    }
    if (c->seq == 0) {
        v.bytes[SRV_COST_MANIFEST] = v.reqs[SRV_COST_MANIFEST] = 0;
        if (cost_total(v.reqs) == 0) return;
    }
    cost_sum_add(&x->total, &v);
    srv_buf_addstr(x->b, x->n++ ? ",{\"app\":" : "{\"app\":");
    srv_buf_json_str(x->b, v.app);
    srv_buf_printf(x->b, ",\"seq\":%" PRIu64 ",", v.seq);
    cost_members(x->b, v.bytes, v.reqs);
    srv_buf_addstr(x->b, "}");
}

static enum MHD_Result device_cost(srv_req *q, const char *dev)
{
    const char *unk = srv_query_unknown(q, (const char *const[]){ NULL });
    if (unk) return srv_reply_error(q, 400, "unknown_field", "this endpoint takes no parameters");
    srv_cost_flush();
    srv_buf b = {0};
    srv_buf_addstr(&b, "{\"device\":");
    srv_buf_json_str(&b, dev);
    srv_buf_addstr(&b, ",\"updates\":[");
    cost_ctx x;
    memset(&x, 0, sizeof x);
    x.b = &b;
    int rc = g_srv.store->ops->cost_list(g_srv.store, dev, NULL, false, 0, device_cost_cb, &x);
    size_t rows = x.n;
    srv_buf_addstr(&b, "],\"idle\":[");
    x.n = 0;
    x.idle_rows = true;
    if (rc == 0) rc = g_srv.store->ops->cost_list(g_srv.store, dev, NULL, false, 0, device_cost_cb, &x);
    rows += x.n;
    if (rc != 0) { srv_buf_free(&b); return srv_reply_error(q, 500, "store", "cannot read data cost"); }
    if (rows == 0) {
        /* Nothing counted: a known device costs 0, an unknown one is a 404. */
        srv_buf probe = {0};
        rc = g_srv.store->ops->device_json(g_srv.store, dev, &probe);
        srv_buf_free(&probe);
        if (rc == SRV_STORE_NOTFOUND) {
            srv_buf_free(&b);
            return srv_reply_error(q, 404, "unknown_device", "no such device");
        }
        if (rc != 0) { srv_buf_free(&b); return srv_reply_error(q, 500, "store", "cannot read device"); }
    }
    srv_buf_addstr(&b, "],\"updates_total\":{");
    cost_members(&b, x.total.bytes, x.total.reqs);
    srv_buf_printf(&b, "},\"idle_total\":{\"bytes\":%" PRIu64 ",\"requests\":%" PRIu64 "},\"total\":%" PRIu64 "}\n",
                   x.idle.bytes[SRV_COST_MANIFEST], x.idle.reqs[SRV_COST_MANIFEST],
                   cost_total(x.total.bytes) + x.idle.bytes[SRV_COST_MANIFEST]);
    return srv_reply_buf(q, 200, &b);
}

static enum MHD_Result device_blocks(srv_req *q, const char *dev, const char *rest, bool del)
{
    if (!del) {
        srv_buf b = {0};
        srv_buf_addstr(&b, "{\"id\":");
        srv_buf_json_str(&b, dev);
        srv_buf_addstr(&b, ",\"blocks\":");
        if (g_srv.store->ops->blocks_json(g_srv.store, dev, &b) != 0) {
            srv_buf_free(&b);
            return srv_reply_error(q, 500, "store", "cannot read blocks");
        }
        srv_buf_addstr(&b, "}\n");
        return srv_reply_buf(q, 200, &b);
    }
    char app[40] = "";
    uint64_t seq = 0;
    if (rest) {
        const char *slash = strchr(rest, '/');
        if (!slash || (size_t)(slash - rest) >= sizeof app || !parse_u64s(slash + 1, &seq))
            return srv_reply_error(q, 400, "bad_block", "DELETE /admin/devices/<id>/blocks/<app>/<seq>");
        memcpy(app, rest, (size_t)(slash - rest));
        if (!srv_app_ok(app, strlen(app))) return srv_reply_error(q, 400, "bad_app", "app: invalid name");
    }
    int64_t n = 0;
    if (g_srv.store->ops->block_clear(g_srv.store, dev, rest ? app : NULL, seq, &n) != 0)
        return srv_reply_error(q, 500, "store", "block not cleared");
    if (rest && n == 0) return srv_reply_error(q, 404, "no_block", "this device is not blocked from that release");
    srv_unblock(dev, rest ? app : NULL, seq);
    if (rest) SUMMARY("device %s: block of %s seq %" PRIu64 " cleared", dev, app, seq);
    else SUMMARY("device %s: %lld block(s) cleared", dev, (long long)n);
    char out[64];
    int len = snprintf(out, sizeof out, "{\"cleared\":%lld}\n", (long long)n);
    return srv_reply_json(q, 200, out, (size_t)len);
}

/* ---- audit, reload ------------------------------------------------------------------ */

static enum MHD_Result audit_get(srv_req *q)
{
    const char *limit = srv_query(q, "limit"), *cursor = srv_query(q, "cursor");
    uint64_t lim = 100, cur = 0;
    if (limit && (!parse_u64s(limit, &lim) || lim < 1 || lim > 1000))
        return srv_reply_error(q, 400, "bad_limit", "limit: 1..1000");
    if (cursor && !parse_u64s(cursor, &cur))
        return srv_reply_error(q, 400, "bad_cursor", "cursor: the next_cursor of the previous page");
    srv_buf b = {0};
    if (g_srv.store->ops->audit_json(g_srv.store, (int)lim, (int64_t)cur, &b) != 0) {
        srv_buf_free(&b);
        return srv_reply_error(q, 500, "store", "cannot read the audit log");
    }
    srv_buf_addstr(&b, "\n");
    return srv_reply_buf(q, 200, &b);
}

static enum MHD_Result reload_post(srv_req *q)
{
    char err[300];
    int n = 0;
    int rc = srv_reload(err, sizeof err, &n);   /* takes admin_mu itself (keyset.c) */
    if (rc != 0) {
        SUMMARY("reload refused: %.200s", err);
        return srv_reply_error(q, 422, "reload_failed", err);
    }
    SUMMARY("reloaded %d release key file(s) and the admin token", n);
    char out[64];
    int len = snprintf(out, sizeof out, "{\"release_keys\":%d}\n", n);
    return srv_reply_json(q, 200, out, (size_t)len);
}

/* ---- dispatch ------------------------------------------------------------------------- */

static enum MHD_Result route(srv_req *q, const char *rest)
{
    const char *m = q->method;
    bool get = strcmp(m, "GET") == 0 || q->head, post = strcmp(m, "POST") == 0,
         patch = strcmp(m, "PATCH") == 0, del = strcmp(m, "DELETE") == 0;
    if (strcmp(rest, "keysets") == 0) return srv_keyset_admin(q);   /* keyset.c */
    if (strcmp(rest, "releases") == 0) {
        if (post) return release_upload(q);
        if (get) return release_list(q);
        return srv_reply_error(q, 405, "method", "use GET or POST");
    }
    if (strcmp(rest, "rollouts") == 0) {
        if (post) return rollout_create(q);
        if (patch) return rollout_patch(q, NULL);
        return srv_reply_error(q, 405, "method", "use POST or PATCH");
    }
    if (strncmp(rest, "rollouts/", 9) == 0) {
        const char *ra = rest + 9, *rs = strchr(ra, '/');
        if (rs) {
            char app[64];
            size_t al = (size_t)(rs - ra);
            if (strcmp(rs, "/cost") != 0) return srv_reply_error(q, 404, "not_found", "no such rollout endpoint: cost");
            if (al >= sizeof app || !srv_app_ok(ra, al)) return srv_reply_error(q, 400, "bad_app", "app: invalid name");
            memcpy(app, ra, al);
            app[al] = 0;
            if (get) return rollout_cost(q, app);
            return srv_reply_error(q, 405, "method", "use GET");
        }
        if (get) return rollout_get(q, rest + 9);
        if (patch) {
            if (!srv_app_ok(rest + 9, strlen(rest + 9))) return srv_reply_error(q, 400, "bad_app", "app: invalid name");
            return rollout_patch(q, rest + 9);
        }
        return srv_reply_error(q, 405, "method", "use GET or PATCH");
    }
    if (strcmp(rest, "devices") == 0) {
        if (post) return device_create(q);
        if (get) return device_list(q);
        return srv_reply_error(q, 405, "method", "use GET or POST");
    }
    if (strncmp(rest, "devices/", 8) == 0) {
        char dev[64];
        const char *p = rest + 8, *slash = strchr(p, '/');
        size_t dl = slash ? (size_t)(slash - p) : strlen(p);
        if (dl >= sizeof dev || !srv_device_id_ok(p, dl))
            return srv_reply_error(q, 400, "bad_device", "device id: 1..32 characters of [A-Za-z0-9._:-]");
        memcpy(dev, p, dl);
        dev[dl] = 0;
        if (!slash) {
            if (get) return device_get(q, dev);
            if (del) return device_delete(q, dev);
            return srv_reply_error(q, 405, "method", "use GET or DELETE");
        }
        const char *sub = slash + 1;
        if (strcmp(sub, "rekey") == 0) {
            if (post) return device_rekey(q, dev);
            return srv_reply_error(q, 405, "method", "use POST");
        }
        if (strcmp(sub, "blocks") == 0) {
            if (get) return device_blocks(q, dev, NULL, false);
            if (del) return device_blocks(q, dev, NULL, true);
            return srv_reply_error(q, 405, "method", "use GET or DELETE");
        }
        if (strncmp(sub, "blocks/", 7) == 0) {
            if (del) return device_blocks(q, dev, sub + 7, true);
            return srv_reply_error(q, 405, "method", "use DELETE");
        }
        if (strcmp(sub, "cost") == 0) {
            if (get) return device_cost(q, dev);
            return srv_reply_error(q, 405, "method", "use GET");
        }
        return srv_reply_error(q, 404, "not_found", "no such device endpoint: rekey, blocks, cost");
    }
    if (strcmp(rest, "audit") == 0) {
        if (get) return audit_get(q);
        return srv_reply_error(q, 405, "method", "use GET");
    }
    if (strcmp(rest, "reload") == 0) {
        if (post) return reload_post(q);
        return srv_reply_error(q, 405, "method", "use POST");
    }
    return srv_reply_error(q, 404, "not_found", "no such admin endpoint");
}

enum MHD_Result srv_route_admin(srv_req *q, const char *rest)
{
    SRV_ADD(admin_requests, 1);
    if (!srv_admin_authorized(srv_header(q, "Authorization"))) {
        SRV_ADD(admin_denied, 1);
        struct MHD_Response *r;
        static const char body[] =
            "{\"error\":\"unauthorized\",\"message\":\"Authorization: Bearer <admin token> required\"}\n";
        r = MHD_create_response_from_buffer(sizeof body - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
        if (!r) return MHD_NO;
        MHD_add_response_header(r, "Content-Type", "application/json");
        MHD_add_response_header(r, "WWW-Authenticate", "Bearer");
        return srv_reply(q, 401, r, sizeof body - 1);
    }
    actor_of(q, tl_actor);
    tl_summary[0] = 0;
    enum MHD_Result ret = route(q, rest);
    /* Every change, refused or not, goes to the audit log. */
    if (strcmp(q->method, "GET") != 0 && !q->head) {
        char path[160];
        snprintf(path, sizeof path, "/admin/%s", rest);
        if (g_srv.store->ops->audit_add(g_srv.store, srv_now(), tl_actor, q->method, path, q->status,
                                        tl_summary) != 0)
            fprintf(stderr, "otad: audit entry not stored: %s %s\n", q->method, path);
    }
    return ret;
}
