/*
 * cmd_rollout.c: `otasign rollout start|set|pause|resume|abort APP ...`:
 * start a staged rollout of a published release (POST /admin/rollouts),
 * change it (PATCH /admin/rollouts/APP), pause, resume or abort it.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "client.h"
#include "cmd_cost.h"
#include "ota_release.h"

static void help(FILE *f)
{
    fprintf(f,
        "usage: otasign rollout start APP SEQ [options]     offer release SEQ of APP\n"
        "       otasign rollout set APP [options]           change the current rollout\n"
        "       otasign rollout pause APP [--reason TEXT]   stop offering (devices keep what they run)\n"
        "       otasign rollout resume APP                  offer again\n"
        "       otasign rollout abort APP [--reason TEXT]   end it for good\n"
        "       otasign rollout cost APP [--seq N]          bytes devices spent on it (see cost --help)\n"
        "\n"
        "options (start and set):\n"
        "  --percent P           share of devices offered the release now (0..100; start: 100,\n"
        "                        or the first wave when --waves is given)\n"
        "  --waves P1,P2,...     ascending percentages; the rollout moves to the next wave once\n"
        "                        enough of the devices the current wave includes confirmed\n"
        "  --wave-fraction F     the next wave opens once this share of the devices the current\n"
        "                        wave includes confirmed (0.8 or 80%%; otad's default 0.8)\n"

        "  --error-threshold F   pause by itself when (rolled back + rejected + failed) / outcomes\n"
        "                        goes above F (0.2 or 20%%; none = never)\n"
        "  --min-reports N       outcomes needed before the threshold applies (default 5)\n"
        "  --allow ID,ID,...     only these devices (empty string: everybody)\n"
        "  --pin ID=SEQ          give device ID release SEQ whatever the rollout says (0 = hold\n"
        "                        it where it is); repeatable\n"
        "  --paused              (start) create it paused\n"
        "  --replace             (start) replace the app's active or paused rollout\n"
        "\n" CLIENT_HELP
        "\nProgress and waves count confirmed devices only.  Watch with: otasign status APP --watch\n"
        "Exit status: 0 ok, 1 failure, 2 usage.\n");
}

static int parse_pct(const char *s, double lo, double hi, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s) return -1;
    if (*end == '%') end++;
    if (*end || !(v >= lo && v <= hi)) return -1;
    *out = v;
    return 0;
}

/* Add the options to j.  Returns 0, or -1 after a usage message. */
static int add_options(cJSON *j, const char *percent, const char *waves, const char *wave_frac,
                       const char *thr, const char *minrep, const char *allow,
                       const char **pins, int npins, double *first_wave)
{
    double v;
    uint64_t u;
    if (percent) {
        if (parse_pct(percent, 0, 100, &v) != 0) { util_err("--percent: a number from 0 to 100"); return -1; }
        cJSON_AddNumberToObject(j, "percent", v);
    }
    if (waves) {
        cJSON *a = cJSON_AddArrayToObject(j, "waves");
        const char *p = waves;
        double prev = -1;
        while (*p) {
            char *end;
            v = strtod(p, &end);
            if (end == p || v <= prev || v > 100) {
                util_err("--waves: ascending percentages 0..100 separated by commas, e.g. 10,50,100");
                return -1;
            }
            if (prev < 0 && first_wave) *first_wave = v;
            prev = v;
            cJSON_AddItemToArray(a, cJSON_CreateNumber(v));
            if (*end == '%') end++;
            if (*end == ',') end++;
            else if (*end) { util_err("--waves: e.g. 10,50,100"); return -1; }
            p = end;
        }
    }
    if (wave_frac) {
        size_t n = strlen(wave_frac);
        int is_pct = n && wave_frac[n - 1] == '%';
        if (parse_pct(wave_frac, 0, is_pct ? 100 : 1, &v) != 0 || v <= 0) {
            util_err("--wave-fraction: a fraction above 0 and up to 1, or a percentage like 80%%");
            return -1;
        }
        cJSON_AddNumberToObject(j, "wave_fraction", is_pct ? v / 100 : v);
    }
    if (thr) {
        if (strcmp(thr, "none") == 0) cJSON_AddNullToObject(j, "error_threshold");
        else {
            size_t n = strlen(thr);
            if (parse_pct(thr, 0, n && thr[n - 1] == '%' ? 100 : 1, &v) != 0) {
                util_err("--error-threshold: a fraction 0..1, a percentage like 20%%, or none");
                return -1;
            }
            if (n && thr[n - 1] == '%') v /= 100;
            cJSON_AddNumberToObject(j, "error_threshold", v);
        }
    }
    if (minrep) {
        if (util_parse_u64(minrep, &u) || u < 1 || u > 1000000000000ull) { util_err("--min-reports: a whole number >= 1"); return -1; }
        cJSON_AddNumberToObject(j, "min_reports", (double)u);
    }
    if (allow) {
        cJSON *a = cJSON_AddArrayToObject(j, "allow");
        const char *p = allow;
        while (*p) {
            size_t n = strcspn(p, ",");
            if (n == 0 || ota_name_valid(p, n, OTA_DEVICE_ID_MAX, 1) != OTA_OK) {
                util_err("--allow: device ids separated by commas");
                return -1;
            }
            char id[OTA_DEVICE_ID_MAX + 1];
            memcpy(id, p, n);
            id[n] = 0;
            cJSON_AddItemToArray(a, cJSON_CreateString(id));
            p += n;
            if (*p == ',') p++;
        }
    }
    if (npins) {
        cJSON *o = cJSON_AddObjectToObject(j, "pins");
        for (int i = 0; i < npins; i++) {
            const char *eq = strchr(pins[i], '=');
            char id[OTA_DEVICE_ID_MAX + 1];
            size_t n = eq ? (size_t)(eq - pins[i]) : 0;
            if (!eq || n == 0 || n > OTA_DEVICE_ID_MAX ||
                ota_name_valid(pins[i], n, OTA_DEVICE_ID_MAX, 1) != OTA_OK || util_parse_u64(eq + 1, &u)) {
                util_err("--pin: ID=SEQ (SEQ 0 holds the device where it is)");
                return -1;
            }
            memcpy(id, pins[i], n);
            id[n] = 0;
            cJSON_AddNumberToObject(o, id, (double)u);
        }
    }
    return 0;
}

/* One human line about a rollout object as otad returns it. */
static void describe(const cJSON *ro)
{
    const char *app = cj_str(ro, "app", "?"), *state = cj_str(ro, "state", "?");
    double pct = cj_num(ro, "percent", -1);
    printf("%s: rollout of seq %.0f is %s at %g%% of devices", app, cj_num(ro, "seq", 0), state, pct);
    const cJSON *w = cj_get(ro, "waves");
    if (cJSON_IsArray(w) && cJSON_GetArraySize(w) > 0) {
        printf(", waves");
        const cJSON *it;
        int k = 0;
        cJSON_ArrayForEach(it, w) {
            double p = cJSON_IsNumber(it) ? it->valuedouble : cj_num(it, "percent", 0);
            printf("%s%g%%", k++ ? " > " : " ", p);
        }
        double wc = cj_num(ro, "wave_confirmed", 0), wf = cj_num(ro, "wave_fraction", 0);
        if (wf > 0) printf(" (next wave once %g%% of the current one confirmed)", wf * 100);
        else if (wc > 0) printf(" (%g confirmed per wave)", wc);
    }
    const cJSON *t = cj_get(ro, "error_threshold");
    if (cJSON_IsNumber(t))
        printf(", pauses above %g%% errors after %g outcomes", t->valuedouble * 100,
               cj_num(ro, "min_reports", 5));
    const char *reason = cj_str(ro, "reason", "");
    if (*reason) printf(" (%s)", reason);
    printf("\n");
}

int cmd_rollout(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        help(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    const char *action = argv[1];
    if (strcmp(action, "cost") == 0) return cmd_rollout_cost(argc, argv);
    int start = strcmp(action, "start") == 0, set = strcmp(action, "set") == 0;
    int pause = strcmp(action, "pause") == 0, resume = strcmp(action, "resume") == 0,
        abort_ = strcmp(action, "abort") == 0;
    if (!start && !set && !pause && !resume && !abort_) {
        util_err("unknown action '%s': start, set, pause, resume, abort or cost (see --help)", action);
        return EXIT_USAGE;
    }
    client_opts co = {0};
    const char *percent = NULL, *waves = NULL, *wave_frac = NULL, *thr = NULL, *minrep = NULL,
               *allow = NULL, *reason = NULL;
    const char *pins[OPT_MULTI_MAX];
    int npins = 0, paused = 0, replace = 0;
    util_opt all[] = {
        CLIENT_OPTS(&co),
        { "--reason", OPT_STR, &reason, NULL },
        { "--percent", OPT_STR, &percent, NULL },
        { "--waves", OPT_STR, &waves, NULL },
        { "--wave-fraction", OPT_STR, &wave_frac, NULL },
        { "--error-threshold", OPT_STR, &thr, NULL },
        { "--min-reports", OPT_STR, &minrep, NULL },
        { "--allow", OPT_STR, &allow, NULL },
        { "--pin", OPT_MULTI, pins, &npins },
        { "--paused", OPT_FLAG, &paused, NULL },
        { "--replace", OPT_FLAG, &replace, NULL },
    };
    size_t nopts = sizeof all / sizeof all[0];
    if (resume) nopts = 3;              /* client options only */
    else if (pause || abort_) nopts = 4;  /* + --reason */
    else if (set) nopts = nopts - 2;      /* no --paused, --replace */
    const char *pos[2];
    int npos = 0, help_flag = 0;
    if (util_parse_args(argc - 1, argv + 1, all, nopts, pos, 2, &npos, &help_flag) != 0) return EXIT_USAGE;
    if (help_flag) { help(stdout); return EXIT_OK; }
    if (npos != (start ? 2 : 1)) {
        util_err(start ? "expected: otasign rollout start APP SEQ [options]"
                       : "expected: otasign rollout %s APP", action);
        return EXIT_USAGE;
    }
    const char *app = pos[0];
    if (ota_name_valid(app, strlen(app), OTA_NAME_MAX, 0) != OTA_OK) {
        util_err("app '%s': 1..32 characters of [A-Za-z0-9._-], first a letter or digit", app);
        return EXIT_USAGE;
    }
    uint64_t seq = 0;
    if (start && (util_parse_u64(pos[1], &seq) || seq < 1)) {
        util_err("SEQ: the release's sequence number (>= 1), e.g. 3 for releases/%s-3", app);
        return EXIT_USAGE;
    }
    cJSON *j = cJSON_CreateObject();
    double first_wave = -1;
    if (!j) return EXIT_FAIL;
    if (start) {
        cJSON_AddStringToObject(j, "app", app);
        cJSON_AddNumberToObject(j, "seq", (double)seq);
        if (paused) cJSON_AddStringToObject(j, "state", "paused");
        if (replace) cJSON_AddTrueToObject(j, "replace");
    }
    if (add_options(j, percent, waves, wave_frac, thr, minrep, allow, pins, npins, &first_wave) != 0) {
        cJSON_Delete(j);
        return EXIT_USAGE;
    }
    /* A staged start begins at its first wave unless told otherwise. */
    if (start && !percent && first_wave >= 0) cJSON_AddNumberToObject(j, "percent", first_wave);
    if (set && cJSON_GetArraySize(j) == 0) {
        util_err("nothing to change: give --percent, --waves, --error-threshold, ... (see --help)");
        cJSON_Delete(j);
        return EXIT_USAGE;
    }
    if (pause || resume || abort_) {
        cJSON_AddStringToObject(j, "action", action);
        if (reason) cJSON_AddStringToObject(j, "reason", reason);
    }
    char *body = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!body) return EXIT_FAIL;

    client c;
    client_resp r = {0};
    int rc = client_init(&c, &co);
    if (rc != 0) { cJSON_free(body); return rc; }
    rc = EXIT_FAIL;
    char path[128], what[160];
    snprintf(path, sizeof path, start ? "/admin/rollouts" : "/admin/rollouts/%s", app);
    if (start) snprintf(what, sizeof what, "rollout start %s %llu", app, (unsigned long long)seq);
    else snprintf(what, sizeof what, "rollout %s %s", action, app);
    if (client_call(&c, start ? "POST" : "PATCH", path, body, strlen(body), &r) != 0) goto out;
    if (r.status == 404 && start) {
        util_err("%s: otad has no release %s seq %llu: publish it first (otasign publish "
                 "releases/%s-%llu)", what, app, (unsigned long long)seq, app, (unsigned long long)seq);
        goto out;
    }
    if (r.status == 404 && !start) {
        util_err("%s: %s has no active or paused rollout: start one with otasign rollout start "
                 "%s SEQ", what, app, app);
        goto out;
    }
    if (r.status == 409 && start) {
        util_err("%s: %s (%s): change it with otasign rollout set %s ..., or replace it: "
                 "otasign rollout start %s %llu --replace", what, client_err_text(&r),
                 cj_str(r.json, "error", "conflict"), app, app, (unsigned long long)seq);
        goto out;
    }
    if (r.status == 409) {
        util_err("%s: %s", what, client_err_text(&r));
        goto out;
    }
    if (r.status == 400) {
        util_err("%s: otad refused it: %s", what, client_err_text(&r));
        goto out;
    }
    if (r.status != 200 && r.status != 201) { client_fail(&c, &r, what); goto out; }
    if (c.json) {
        fputs(r.body, stdout);
        if (r.len && r.body[r.len - 1] != '\n') fputc('\n', stdout);
    } else {
        describe(r.json);
        if (start) printf("watch it: otasign status %s --watch\n", app);
    }
    rc = EXIT_OK;
out:
    client_resp_free(&r);
    client_free(&c);
    cJSON_free(body);
    return rc;
}
