/*
 * routes_admin.c: the admin API under /admin/ (Authorization: Bearer TOKEN).
 *
 *   POST  /admin/releases            {statement: base64, bundle: base64}
 *   GET   /admin/releases[?app=A]
 *   POST  /admin/rollouts            {app, seq, percent, allow, pins, waves,
 *                                     wave_confirmed, error_threshold, min_reports}
 *   PATCH /admin/rollouts[/<app>]    same members, and action: pause|resume|abort
 *   GET   /admin/rollouts/<app>      rollouts and per-release device states
 *   POST  /admin/devices             {id} -> secret (always made) shown once
 *   GET   /admin/devices/<id>
 *
 * Every answer is JSON; errors are {"error": code, "message": text}.
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
#include <sys/stat.h>

#include "ota_encode.h"
#include "nudge.h"

/* ---- helpers ------------------------------------------------------------------ */

static void release_json(srv_buf *b, const srv_release *r, uint64_t pending)
{
    srv_buf_addstr(b, "{\"app\":");
    srv_buf_json_str(b, r->app);
    srv_buf_printf(b, ",\"seq\":%" PRIu64 ",\"label\":", r->seq);
    srv_buf_json_str(b, r->label);
    srv_buf_addstr(b, ",\"board\":");
    srv_buf_json_str(b, r->board);
    srv_buf_printf(b, ",\"key_id\":\"%s\",\"size\":%" PRIu64 ",\"sha256\":\"%s\","
                      "\"statement_sha256\":\"%s\",\"url\":\"/bundle/%s\",\"created\":%lld,"
                      "\"bytes_served\":%" PRIu64 "}",
                   r->key_id, r->size, r->bundle_sha256, r->statement_sha256, r->bundle_sha256,
                   (long long)r->created, r->bytes_served + pending);
}

static void rollout_json(srv_buf *b, const srv_rollout *r)
{
    srv_buf_printf(b, "{\"id\":%lld,\"app\":", (long long)r->id);
    srv_buf_json_str(b, r->app);
    srv_buf_printf(b, ",\"seq\":%" PRIu64 ",\"percent\":%g,\"allow\":%s,\"pins\":%s,\"waves\":%s,"
                      "\"wave_confirmed\":%lld,\"state\":\"%s\",",
                   r->seq, r->percent, r->allow_json ? r->allow_json : "[]",
                   r->pins_json ? r->pins_json : "{}", r->waves_json ? r->waves_json : "[]",
                   (long long)r->wave_confirmed, r->state);
    if (r->error_threshold > 1.0) srv_buf_addstr(b, "\"error_threshold\":null");
    else srv_buf_printf(b, "\"error_threshold\":%g", r->error_threshold);
    srv_buf_printf(b, ",\"min_reports\":%lld,\"reason\":", (long long)r->min_reports);
    srv_buf_json_str(b, r->reason);
    srv_buf_printf(b, ",\"created\":%lld,\"updated\":%lld}", (long long)r->created,
                   (long long)r->updated);
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

/* ---- releases ------------------------------------------------------------------ */

static enum MHD_Result release_upload(srv_req *q)
{
    cJSON *j = parse_body(q);
    if (!j) return srv_reply_error(q, 400, "bad_json", "body: {\"statement\": base64, \"bundle\": base64}");
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

/* Apply the members of j to ro (admin_mu held).  Returns NULL or an error text. */
static const char *apply_rollout(srv_rollout *ro, const cJSON *j, char **allow, char **pins,
                                 char **waves)
{
    const cJSON *v;
    if ((v = cJSON_GetObjectItemCaseSensitive(j, "percent"))) {
        if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 100)
            return "percent: a number from 0 to 100";
        ro->percent = v->valuedouble;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(j, "allow"))) {
        if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > 100000) return "allow: an array of device ids";
        const cJSON *it;
        cJSON_ArrayForEach(it, v)
            if (!cJSON_IsString(it) || !srv_device_id_ok(it->valuestring, strlen(it->valuestring)))
                return "allow: every entry must be a valid device id";
        *allow = cJSON_PrintUnformatted(v);
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
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(j, "waves"))) {
        if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > SRV_MAX_WAVES)
            return "waves: an array of at most 16 percentages";
        const cJSON *it;
        double prev = -1;
        cJSON_ArrayForEach(it, v) {
            if (!cJSON_IsNumber(it) || it->valuedouble <= prev || it->valuedouble > 100)
                return "waves: ascending percentages from 0 to 100";
            prev = it->valuedouble;
        }
        *waves = cJSON_PrintUnformatted(v);
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(j, "wave_confirmed"))) {
        if (!whole(v, 0, 1e12)) return "wave_confirmed: a whole number >= 0";
        ro->wave_confirmed = (int64_t)v->valuedouble;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(j, "error_threshold"))) {
        if (cJSON_IsNull(v)) ro->error_threshold = 2.0;
        else if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1)
            return "error_threshold: a fraction from 0 to 1, or null for none";
        else ro->error_threshold = v->valuedouble;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(j, "min_reports"))) {
        if (!whole(v, 1, 1e12)) return "min_reports: a whole number >= 1";
        ro->min_reports = (int64_t)v->valuedouble;
    }
    return NULL;
}

static enum MHD_Result rollout_reply(srv_req *q, unsigned status, const srv_rollout *ro)
{
    srv_buf b = {0};
    rollout_json(&b, ro);
    srv_buf_addstr(&b, "\n");
    return srv_reply_buf(q, status, &b);
}

static enum MHD_Result rollout_create(srv_req *q)
{
    cJSON *j = parse_body(q);
    if (!j) return srv_reply_error(q, 400, "bad_json", "body: a JSON object {app, seq, percent, ...}");
    const cJSON *app = cJSON_GetObjectItemCaseSensitive(j, "app");
    const cJSON *seq = cJSON_GetObjectItemCaseSensitive(j, "seq");
    if (!cJSON_IsString(app) || !srv_app_ok(app->valuestring, strlen(app->valuestring)) ||
        !whole(seq, 1, 9007199254740991.0)) {
        cJSON_Delete(j);
        return srv_reply_error(q, 400, "bad_rollout", "app (name) and seq (>= 1) are required");
    }
    srv_rollout ro;
    memset(&ro, 0, sizeof ro);
    snprintf(ro.app, sizeof ro.app, "%s", app->valuestring);
    ro.seq = (uint64_t)seq->valuedouble;
    ro.percent = 100;
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
    pthread_mutex_lock(&g_srv.admin_mu);
    enum MHD_Result ret;
    const char *err = apply_rollout(&ro, j, &allow, &pins, &waves);
    if (err) {
        ret = srv_reply_error(q, 400, "bad_rollout", err);
    } else if (!release_exists(ro.app, ro.seq)) {
        ret = srv_reply_error(q, 404, "unknown_release", "no such release: publish it first");
    } else {
        ro.allow_json = allow ? allow : "[]";
        ro.pins_json = pins ? pins : "{}";
        ro.waves_json = waves ? waves : "[]";
        ro.created = ro.updated = srv_now();
        if (g_srv.store->ops->rollout_put(g_srv.store, &ro, true) != 0) {
            ret = srv_reply_error(q, 500, "store", "rollout not stored");
        } else if (srv_snapshot_rebuild() != 0) {
            ret = srv_reply_error(q, 500, "snapshot",
                                  "rollout stored, but the server could not apply it: no offers until it can");
        } else {
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

static enum MHD_Result rollout_patch(srv_req *q, const char *path_app)
{
    cJSON *j = parse_body(q);
    if (!j) return srv_reply_error(q, 400, "bad_json", "body: a JSON object");
    const cJSON *ja = cJSON_GetObjectItemCaseSensitive(j, "app");
    const char *app = path_app && *path_app ? path_app : (cJSON_IsString(ja) ? ja->valuestring : NULL);
    if (!app || !srv_app_ok(app, strlen(app))) {
        cJSON_Delete(j);
        return srv_reply_error(q, 400, "bad_app", "app: name of the app whose rollout to change");
    }
    const cJSON *act = cJSON_GetObjectItemCaseSensitive(j, "action");
    if (act && (!cJSON_IsString(act) || (strcmp(act->valuestring, "pause") != 0 &&
                                        strcmp(act->valuestring, "resume") != 0 &&
                                        strcmp(act->valuestring, "abort") != 0))) {
        cJSON_Delete(j);
        return srv_reply_error(q, 400, "bad_action", "action: pause, resume or abort");
    }
    char *allow = NULL, *pins = NULL, *waves = NULL;
    enum MHD_Result ret;
    pthread_mutex_lock(&g_srv.admin_mu);
    srv_appview *a = srv_map_get(&g_srv.snap->apps, app, strlen(app));   /* stable under admin_mu */
    if (!a) {
        ret = srv_reply_error(q, 404, "no_rollout", "this app has no active or paused rollout");
        goto out;
    }
    srv_rollout ro = a->ro;
    const char *err = apply_rollout(&ro, j, &allow, &pins, &waves);
    if (err) { ret = srv_reply_error(q, 400, "bad_rollout", err); goto out; }
    if (allow) ro.allow_json = allow;
    if (pins) ro.pins_json = pins;
    if (waves) ro.waves_json = waves;
    if (act) {
        const cJSON *why = cJSON_GetObjectItemCaseSensitive(j, "reason");
        const char *reason = cJSON_IsString(why) ? why->valuestring : "by admin";
        if (strcmp(act->valuestring, "pause") == 0) {
            snprintf(ro.state, sizeof ro.state, "%s", SRV_RO_PAUSED);
            snprintf(ro.reason, sizeof ro.reason, "paused %s", reason);
        } else if (strcmp(act->valuestring, "resume") == 0) {
            snprintf(ro.state, sizeof ro.state, "%s", SRV_RO_ACTIVE);
            ro.reason[0] = 0;
        } else {
            snprintf(ro.state, sizeof ro.state, "%s", SRV_RO_ABORTED);
            snprintf(ro.reason, sizeof ro.reason, "aborted %s", reason);
        }
    }
    ro.updated = srv_now();
    if (g_srv.store->ops->rollout_put(g_srv.store, &ro, false) != 0) {
        ret = srv_reply_error(q, 500, "store", "rollout not stored");
        goto out;
    }
    /* Reply from our copy before the rebuild frees the old json members. */
    srv_buf b = {0};
    rollout_json(&b, &ro);
    srv_buf_addstr(&b, "\n");
    if (srv_snapshot_rebuild() != 0) {
        srv_buf_free(&b);
        ret = srv_reply_error(q, 500, "snapshot",
                              "rollout stored, but the server could not apply it: no offers until it can");
    } else {
        srv_nudge(ro.app);   /* issue 10: LAN nudge, devices poll now */
        ret = srv_reply_buf(q, 200, &b);
    }
out:
    pthread_mutex_unlock(&g_srv.admin_mu);
    cJSON_free(allow);
    cJSON_free(pins);
    cJSON_free(waves);
    cJSON_Delete(j);
    return ret;
}

typedef struct ro_ctx { srv_buf *b; const char *app; int n; } ro_ctx;

static void ro_list_cb(const srv_rollout *r, void *arg)
{
    ro_ctx *x = arg;
    if (strcmp(r->app, x->app) != 0) return;
    if (x->n++) srv_buf_addstr(x->b, ",");
    rollout_json(x->b, r);
}

typedef struct rel_ctx { srv_buf *b; const char *app; int n; srv_release *v; size_t nv, cap; } rel_ctx;

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
    srv_appview *a = srv_map_get(&g_srv.snap->apps, app, strlen(app));
    srv_buf_addstr(&b, ",\"current\":");
    if (a) rollout_json(&b, &a->ro);
    else srv_buf_addstr(&b, "null");
    srv_buf_addstr(&b, ",\"rollouts\":[");
    ro_ctx rx = { &b, app, 0 };
    int rc = g_srv.store->ops->rollout_list(g_srv.store, ro_list_cb, &rx);
    srv_buf_addstr(&b, "],\"releases\":[");
    rel_ctx lx = { &b, app, 0, NULL, 0, 0 };
    if (rc == 0) rc = g_srv.store->ops->release_list(g_srv.store, rel_collect, &lx);
    for (size_t i = 0; rc == 0 && i < lx.nv; i++) {
        srv_release *r = &lx.v[i];
        srv_release_counts c;
        if (i) srv_buf_addstr(&b, ",");
        srv_buf_printf(&b, "{\"seq\":%" PRIu64 ",\"label\":", r->seq);
        srv_buf_json_str(&b, r->label);
        srv_buf_printf(&b, ",\"sha256\":\"%s\",\"size\":%" PRIu64 ",\"bytes_served\":%" PRIu64,
                       r->bundle_sha256, r->size, r->bytes_served + pending_served(app, r->seq));
        rc = g_srv.store->ops->release_counts(g_srv.store, app, r->seq, &c);
        if (rc != 0) break;
        /* Progress counts confirmed devices only, never mere downloads. */
        srv_buf_printf(&b, ",\"progress\":%lld,\"confirmed\":%lld,\"rolled_back\":%lld,"
                          "\"rejected\":%lld,\"failed\":%lld,\"detail\":",
                       (long long)c.by_state[3], (long long)c.by_state[3], (long long)c.by_state[4],
                       (long long)c.by_state[5], (long long)c.by_state[6]);
        rc = g_srv.store->ops->release_detail_json(g_srv.store, app, r->seq, &b);
        srv_buf_addstr(&b, "}");
    }
    pthread_mutex_unlock(&g_srv.admin_mu);
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

static enum MHD_Result device_create(srv_req *q)
{
    cJSON *j = parse_body(q);
    if (!j) return srv_reply_error(q, 400, "bad_json", "body: {\"id\": device id, \"secret\": true}");
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
        return srv_reply_error(q, 409, "exists", "this device already exists");
    }
    if (rc != 0) {
        sodium_memzero(secret, sizeof secret);
        return srv_reply_error(q, 500, "store", "device not stored");
    }
    srv_buf b = {0};
    srv_buf_addstr(&b, "{\"id\":");
    srv_buf_json_str(&b, dev);
    if (want_secret && srv_secret_remember(dev, secret) != 0) {
        sodium_memzero(secret, sizeof secret);
        srv_buf_free(&b);
        return srv_reply_error(q, 500, "memory",
                               "device stored, but its secret could not be loaded: restart otad");
    }
    if (want_secret) {
        char hex[65];
        ota_hex_encode(hex, sizeof hex, secret, sizeof secret);
        srv_buf_printf(&b, ",\"secret\":\"%s\"", hex);
        sodium_memzero(hex, sizeof hex);
        sodium_memzero(secret, sizeof secret);
    }
    char pk[65];
    ota_hex_encode(pk, sizeof pk, g_srv.server_pk, 32);
    srv_buf_printf(&b, ",\"server_key\":\"%s\"}\n", pk);
    return srv_reply_buf(q, 201, &b);
}

static enum MHD_Result device_get(srv_req *q, const char *id)
{
    if (!srv_device_id_ok(id, strlen(id)))
        return srv_reply_error(q, 400, "bad_device", "device id: 1..32 characters of [A-Za-z0-9._:-]");
    srv_seen_flush();   /* show the latest polls */
    srv_buf b = {0};
    int rc = g_srv.store->ops->device_json(g_srv.store, id, &b);
    if (rc == SRV_STORE_NOTFOUND) { srv_buf_free(&b); return srv_reply_error(q, 404, "unknown_device", "no such device"); }
    if (rc != 0) { srv_buf_free(&b); return srv_reply_error(q, 500, "store", "cannot read device"); }
    srv_buf_addstr(&b, "\n");
    return srv_reply_buf(q, 200, &b);
}

/* ---- dispatch ------------------------------------------------------------------------- */

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
    const char *m = q->method;
    bool get = strcmp(m, "GET") == 0 || q->head, post = strcmp(m, "POST") == 0,
         patch = strcmp(m, "PATCH") == 0;
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
        if (get) return rollout_get(q, rest + 9);
        if (patch) {
            if (!srv_app_ok(rest + 9, strlen(rest + 9))) return srv_reply_error(q, 400, "bad_app", "app: invalid name");
            return rollout_patch(q, rest + 9);
        }
        return srv_reply_error(q, 405, "method", "use GET or PATCH");
    }
    if (strcmp(rest, "devices") == 0) {
        if (post) return device_create(q);
        return srv_reply_error(q, 405, "method", "use POST");
    }
    if (strncmp(rest, "devices/", 8) == 0) {
        if (get) return device_get(q, rest + 8);
        return srv_reply_error(q, 405, "method", "use GET");
    }
    return srv_reply_error(q, 404, "not_found", "no such admin endpoint");
}
