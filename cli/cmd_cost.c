/*
 * cmd_cost.c: what updates cost devices in bytes on the wire (otad's data
 * cost, server/README.md):
 *
 *   otasign rollout cost APP [--seq N | --rollout ID]   GET /admin/rollouts/APP/cost
 *   otasign device cost ID                              GET /admin/devices/ID/cost
 *
 * Text by default, the API's JSON with --json.  Reached through
 * `otasign rollout cost` and `otasign device cost` (cmd_rollout.c,
 * cmd_device.c).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "client.h"
#include "cmd_cost.h"
#include "ota_release.h"

static void help_rollout(FILE *f)
{
    fprintf(f,
        "usage: otasign rollout cost APP [--seq N | --rollout ID] [options]\n"
        "\n"
        "Bytes devices spent on the wire (request and answer, above TCP) for a release:\n"
        "polls that led to its offer, bundle downloads (ranges as sent), reports; per device,\n"
        "with the total, the mean and the largest per device.  Default: the app's current\n"
        "rollout (else its newest); --seq N: release N; --rollout ID: that rollout's release.\n"
        "Bundle bytes otad could not tie to a device (no offer of those bytes to the address\n"
        "that fetched them) are shown as unattributed.\n"
        "\n"
        "  --seq N             the release\n"
        "  --rollout ID        the rollout (its id, from otasign status)\n"
        CLIENT_HELP
        "\nExit status: 0 ok, 1 failure, 2 usage.\n");
}

static void help_device(FILE *f)
{
    fprintf(f,
        "usage: otasign device cost ID [options]\n"
        "\n"
        "Bytes device ID spent on the wire (request and answer, above TCP): per update\n"
        "(polls that led to the offer, bundle, reports) and idle polls (answered with\n"
        "nothing to do), per app.\n"
        "\n"
        CLIENT_HELP
        "\nExit status: 0 ok, 1 failure, 2 usage.\n");
}

/* "1,234 B" or "12.3 KB" style, exact bytes first. */
static void bytes(char *out, size_t cap, double b)
{
    if (b < 10000) snprintf(out, cap, "%.0f B", b);
    else if (b < 10e6) snprintf(out, cap, "%.0f B (%.1f KB)", b, b / 1024);
    else snprintf(out, cap, "%.0f B (%.1f MB)", b, b / 1048576);
}

static void row(const char *name, const cJSON *o)
{
    const cJSON *rq = cj_get(o, "requests");
    printf("  %-24s %10.0f %10.0f %10.0f %10.0f   %5.0f %5.0f %5.0f\n", name, cj_num(o, "manifest", 0),
           cj_num(o, "bundle", 0), cj_num(o, "reports", 0), cj_num(o, "total", 0), cj_num(rq, "manifest", 0),
           cj_num(rq, "bundle", 0), cj_num(rq, "reports", 0));
}

static void head(const char *first)
{
    printf("  %-24s %10s %10s %10s %10s   %5s %5s %5s\n", first, "manifest", "bundle", "reports", "total",
           "polls", "gets", "reps");
}

/* GET path; prints the JSON (--json) or hands it to show.  Exit status. */
static int get_and_show(client_opts *co, const char *path, const char *what,
                        void (*show)(const cJSON *j))
{
    client c;
    client_resp r = {0};
    int rc = client_init(&c, co);
    if (rc != 0) return rc;
    rc = EXIT_FAIL;
    if (client_call(&c, "GET", path, NULL, 0, &r) != 0) goto out;
    if (r.status == 404 || r.status == 400) {
        util_err("%s: %s", what, client_err_text(&r));
        goto out;
    }
    if (r.status != 200 || !r.json) { client_fail(&c, &r, what); goto out; }
    if (c.json) {
        fputs(r.body, stdout);
        if (r.len && r.body[r.len - 1] != '\n') fputc('\n', stdout);
    } else {
        show(r.json);
    }
    rc = EXIT_OK;
out:
    client_resp_free(&r);
    client_free(&c);
    return rc;
}

static void show_rollout(const cJSON *j)
{
    char t[64], m[64], x[64];
    const cJSON *ro = cj_get(j, "rollout");
    printf("data cost of %s seq %.0f", cj_str(j, "app", "?"), cj_num(j, "seq", 0));
    if (cJSON_IsNumber(ro)) printf(" (rollout %.0f)", ro->valuedouble);
    printf(", bytes on the wire (request + answer):\n");
    const cJSON *tot = cj_get(j, "total"), *pd = cj_get(j, "per_device"), *un = cj_get(j, "unattributed");
    double n = cj_num(j, "devices", 0);
    bytes(t, sizeof t, cj_num(tot, "total", 0));
    bytes(m, sizeof m, cj_num(pd, "mean", 0));
    bytes(x, sizeof x, cj_num(pd, "max", 0));
    printf("  total %s over %.0f device%s; per device: mean %s, max %s", t, n, n == 1 ? "" : "s", m, x);
    if (n > 0) printf(" (%s)", cj_str(pd, "max_device", "?"));
    printf("\n\n");
    head("device");
    const cJSON *d;
    cJSON_ArrayForEach(d, cj_get(j, "by_device")) row(cj_str(d, "device", "?"), d);
    if (cj_num(un, "total", 0) > 0) row("(unattributed)", un);
    row("total", tot);
}

static void show_device(const cJSON *j)
{
    char t[64];
    bytes(t, sizeof t, cj_num(j, "total", 0));
    printf("data cost of device %s: %s on the wire (request + answer)\n\n", cj_str(j, "device", "?"), t);
    head("update (app seq)");
    const cJSON *u;
    cJSON_ArrayForEach(u, cj_get(j, "updates")) {
        char name[64];
        snprintf(name, sizeof name, "%s %.0f", cj_str(u, "app", "?"), cj_num(u, "seq", 0));
        row(name, u);
    }
    row("updates", cj_get(j, "updates_total"));
    printf("\n  idle polls (nothing to do):\n");
    cJSON_ArrayForEach(u, cj_get(j, "idle"))
        printf("  %-24s %10.0f B in %.0f polls\n", cj_str(u, "app", "?"), cj_num(u, "bytes", 0),
               cj_num(u, "requests", 0));
    const cJSON *it = cj_get(j, "idle_total");
    printf("  %-24s %10.0f B in %.0f polls\n", "idle", cj_num(it, "bytes", 0), cj_num(it, "requests", 0));
}

int cmd_rollout_cost(int argc, char **argv)
{
    client_opts co = {0};
    const char *seqs = NULL, *ros = NULL;
    util_opt all[] = {
        CLIENT_OPTS(&co),
        { "--seq", OPT_STR, &seqs, NULL },
        { "--rollout", OPT_STR, &ros, NULL },
    };
    const char *pos[1];
    int npos = 0, help_flag = 0;
    if (util_parse_args(argc - 1, argv + 1, all, sizeof all / sizeof all[0], pos, 1, &npos, &help_flag) != 0)
        return EXIT_USAGE;
    if (help_flag) { help_rollout(stdout); return EXIT_OK; }
    if (npos != 1) { util_err("expected: otasign rollout cost APP [--seq N | --rollout ID]"); return EXIT_USAGE; }
    const char *app = pos[0];
    if (ota_name_valid(app, strlen(app), OTA_NAME_MAX, 0) != OTA_OK) {
        util_err("app '%s': 1..32 characters of [A-Za-z0-9._-], first a letter or digit", app);
        return EXIT_USAGE;
    }
    uint64_t v = 0;
    if (seqs && ros) { util_err("give --seq or --rollout, not both"); return EXIT_USAGE; }
    if (seqs && (util_parse_u64(seqs, &v) || v < 1)) { util_err("--seq: a release sequence (>= 1)"); return EXIT_USAGE; }
    if (ros && (util_parse_u64(ros, &v) || v < 1)) { util_err("--rollout: a rollout id (>= 1)"); return EXIT_USAGE; }
    char path[160], what[96];
    snprintf(path, sizeof path, "/admin/rollouts/%s/cost%s%" PRIu64, app,
             seqs ? "?seq=" : ros ? "?rollout=" : "", v);
    if (!seqs && !ros) snprintf(path, sizeof path, "/admin/rollouts/%s/cost", app);
    snprintf(what, sizeof what, "rollout cost %s", app);
    return get_and_show(&co, path, what, show_rollout);
}

int cmd_device_cost(int argc, char **argv)
{
    client_opts co = {0};
    util_opt all[] = { CLIENT_OPTS(&co) };
    const char *pos[1];
    int npos = 0, help_flag = 0;
    if (util_parse_args(argc - 1, argv + 1, all, sizeof all / sizeof all[0], pos, 1, &npos, &help_flag) != 0)
        return EXIT_USAGE;
    if (help_flag) { help_device(stdout); return EXIT_OK; }
    if (npos != 1) { util_err("expected: otasign device cost ID"); return EXIT_USAGE; }
    const char *id = pos[0];
    if (ota_name_valid(id, strlen(id), OTA_DEVICE_ID_MAX, 1) != OTA_OK) {
        util_err("device id '%s': 1..32 characters of [A-Za-z0-9._:-], first a letter or digit", id);
        return EXIT_USAGE;
    }
    char path[96], what[64];
    snprintf(path, sizeof path, "/admin/devices/%s/cost", id);
    snprintf(what, sizeof what, "device cost %s", id);
    return get_and_show(&co, path, what, show_device);
}
