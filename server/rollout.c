/* rollout.c: the rollout policy (see rollout.h).  Pure: no globals beyond
 * constant tables, no locks, no I/O, no allocation. */
#include "rollout.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ota_crypto.h"
#include "ota_release.h"

static const char *const state_names[RO_ST_N] = {
    "downloading", "downloaded", "trial", "confirmed", "rolled_back", "rejected", "failed",
};

const char *ro_state_name(int st)
{
    return st >= 0 && st < RO_ST_N ? state_names[st] : NULL;
}

int ro_state_parse(const char *s)
{
    for (int i = 0; s && i < RO_ST_N; i++)
        if (strcmp(s, state_names[i]) == 0) return i;
    return -1;
}

bool ro_state_is_outcome(int st)
{
    return st == RO_ST_CONFIRMED || ro_state_is_bad(st);
}

bool ro_state_is_bad(int st)
{
    return st == RO_ST_ROLLED_BACK || st == RO_ST_REJECTED || st == RO_ST_FAILED;
}

static const char *const phase_names[] = { "active", "paused", "aborted", "superseded" };

const char *ro_phase_name(ro_phase p)
{
    return (unsigned)p < 4 ? phase_names[p] : "unknown";
}

int ro_phase_parse(const char *s)
{
    for (int i = 0; s && i < 4; i++)
        if (strcmp(s, phase_names[i]) == 0) return i;
    return -1;
}

const char *ro_why_text(ro_why w)
{
    switch (w) {
    case RO_OFFER:       return "offer";
    case RO_NO_ROLLOUT:  return "no rollout for this app";
    case RO_NOT_ACTIVE:  return "rollout paused";
    case RO_NOT_ALLOWED: return "not on the allow-list";
    case RO_NOT_IN_WAVE: return "not in the current wave";
    case RO_HELD:        return "held by a pin to 0";
    case RO_NO_RELEASE:  return "release not published";
    case RO_NOT_NEWER:   return "already runs it or a later one";
    case RO_WRONG_BOARD: return "release is for another board";
    case RO_WRONG_FIRMWARE: return "release is pretokenised for a firmware the device has not said it runs";
    case RO_BLOCKED:     return "blocked: the device rolled back from or rejected this release";
    }
    return "unknown";
}

/* ---- buckets, boards, lists ------------------------------------------------ */

unsigned ro_bucket(int64_t rollout_id, const char *device)
{
    /* SHA-256("otad-bucket-v1" 0x00 || u64le rollout id || device id). */
    uint8_t msg[15 + 8 + OTA_DEVICE_ID_MAX], h[32];
    size_t dl = strlen(device);
    if (dl > OTA_DEVICE_ID_MAX) dl = OTA_DEVICE_ID_MAX;
    memcpy(msg, "otad-bucket-v1", 15);
    for (int i = 0; i < 8; i++) msg[15 + i] = (uint8_t)((uint64_t)rollout_id >> (8 * i));
    memcpy(msg + 23, device, dl);
    ota_sha256(h, msg, 23 + dl);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)h[i] << (8 * i);
    return (unsigned)(v % RO_BUCKETS);
}

unsigned ro_bucket_limit(double percent)
{
    if (!(percent > 0)) return 0;
    if (percent >= 100) return RO_BUCKETS;
    return (unsigned)(percent * 100.0 + 0.5);
}

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

bool ro_board_match(const char *release_board, const char *device_board)
{
    if (!release_board || !*release_board) return true;
    if (!device_board || !*device_board) return true;
    for (; *release_board && *device_board; release_board++, device_board++)
        if (lower((unsigned char)*release_board) != lower((unsigned char)*device_board)) return false;
    return *release_board == 0 && *device_board == 0;
}

bool ro_firmware_match(uint16_t release_fw, uint16_t device_fw)
{
    if (release_fw == 0) return true;
    if (release_fw == RO_FW_NONE || device_fw == RO_FW_UNKNOWN) return false;
    return device_fw == RO_FW_UNASKED || device_fw == release_fw;
}

bool ro_allowed(const ro_rollout *r, const char *device)
{
    if (r->n_allow == 0) return true;
    size_t lo = 0, hi = r->n_allow;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(r->allow[mid], device);
        if (c == 0) return true;
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return false;
}

const ro_pin *ro_pin_find(const ro_rollout *r, const char *device)
{
    size_t lo = 0, hi = r->n_pins;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(r->pins[mid].device, device);
        if (c == 0) return &r->pins[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

bool ro_blocked(const ro_history *h, uint64_t seq)
{
    for (size_t i = 0; h && i < h->n_blocked; i++)
        if (h->blocked[i] == seq) return true;
    return false;
}

static const ro_release *rel_find(const ro_release *rels, size_t n, uint64_t seq)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (rels[mid].seq == seq) return &rels[mid];
        if (rels[mid].seq < seq) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

/* ---- the decision ------------------------------------------------------------ */

ro_why ro_decide(const ro_rollout *r, const ro_release *rels, size_t n_rels,
                 const ro_device *d, const ro_history *h, uint64_t *seq)
{
    if (!r) return RO_NO_ROLLOUT;
    uint64_t want;
    const ro_pin *pin = ro_pin_find(r, d->id);
    if (pin) {
        /* A pin names the release this device gets, whatever the rollout's
         * state, allow-list and percentage; a pin to 0 holds it. */
        if (pin->seq == 0) return RO_HELD;
        want = pin->seq;
    } else {
        if (r->phase != RO_ACTIVE) return RO_NOT_ACTIVE;
        if (!ro_allowed(r, d->id)) return RO_NOT_ALLOWED;
        if (ro_bucket(r->id, d->id) >= ro_bucket_limit(r->percent)) return RO_NOT_IN_WAVE;
        want = r->seq;
    }
    const ro_release *rel = rel_find(rels, n_rels, want);
    if (!rel) return RO_NO_RELEASE;
    if (want <= d->running) return RO_NOT_NEWER;
    if (!ro_board_match(rel->board, d->board)) return RO_WRONG_BOARD;
    if (!ro_firmware_match(rel->fw, d->firmware)) return RO_WRONG_FIRMWARE;
    if (ro_blocked(h, want)) return RO_BLOCKED;
    if (seq) *seq = want;
    return RO_OFFER;
}

/* ---- blocks ------------------------------------------------------------------ */

/* Causes a release earns for a device and that do not change by
 * themselves: the device would refuse or fail the same bytes every time.
 * Everything else -- a wrong board (the device's configuration can be
 * fixed), an unknown key (keys can be added), damage or replay in transit
 * (hash, signature, MAC, nonce, truncation), a flash error -- is offered
 * again: the device re-checks every offer anyway. */
static const int blocking_codes[] = {
    OTA_ERR_WRONG_APP,
    OTA_ERR_BAD_ENCODING_KIND,
    OTA_ERR_TOO_BIG,
    OTA_ERR_BAD_BLOCK,        /* encoding 1: the signed bundle's blocks do not decode */
    OTA_ERR_INSTALLED_HASH,   /* encoding 1: they decode, but not to the signed program */
    OTA_ERR_APP_THREW,
    OTA_ERR_NOT_CONFIRMED,
};

bool ro_code_blocks(int code)
{
    for (size_t i = 0; i < sizeof blocking_codes / sizeof blocking_codes[0]; i++)
        if (blocking_codes[i] == code) return true;
    return false;
}

bool ro_report_blocks(int state, int code)
{
    if (state == RO_ST_ROLLED_BACK) return true;   /* the release ran and was undone */
    if (state == RO_ST_REJECTED || state == RO_ST_FAILED) return ro_code_blocks(code);
    return false;
}

/* ---- threshold ----------------------------------------------------------------- */

bool ro_threshold_crossed(const ro_rollout *r, const ro_counts *c, char *why, size_t cap)
{
    if (!(r->error_threshold <= 1.0)) return false;
    int64_t bad = c->by_state[RO_ST_ROLLED_BACK] + c->by_state[RO_ST_REJECTED] +
                  c->by_state[RO_ST_FAILED];
    int64_t outcomes = bad + c->by_state[RO_ST_CONFIRMED];
    if (outcomes <= 0 || outcomes < r->min_reports) return false;
    if (!((double)bad > r->error_threshold * (double)outcomes)) return false;
    if (why && cap)
        snprintf(why, cap,
                 "error threshold crossed: %lld of %lld outcomes bad (%lld rolled back, "
                 "%lld rejected, %lld failed) > %g%%",
                 (long long)bad, (long long)outcomes, (long long)c->by_state[RO_ST_ROLLED_BACK],
                 (long long)c->by_state[RO_ST_REJECTED], (long long)c->by_state[RO_ST_FAILED],
                 r->error_threshold * 100);
    return true;
}

/* ---- waves --------------------------------------------------------------------- */

int64_t ro_wave_needs(double fraction, int64_t population)
{
    if (population <= 0) return 0;
    if (!(fraction > 0)) fraction = 1;
    if (fraction > 1) fraction = 1;
    double x = ceil(fraction * (double)population - 1e-9);
    int64_t n = (int64_t)x;
    if (n < 1) n = 1;
    if (n > population) n = population;
    return n;
}

double ro_wave_next(const double *waves, int n, double percent)
{
    for (int i = 0; i < n; i++)
        if (waves[i] > percent) return waves[i];
    return -1;
}

void ro_wave_eval(const ro_rollout *r, const char *release_board, const ro_fleet_dev *devs,
                  size_t n, int64_t now, ro_wave_status *out)
{
    memset(out, 0, sizeof *out);
    out->n_waves = r->n_waves;
    out->percent = r->percent;
    out->next_percent = ro_wave_next(r->waves, r->n_waves, r->percent);
    for (int i = 0; i < r->n_waves; i++)
        if (r->waves[i] <= r->percent) out->wave = i + 1;
    unsigned limit = ro_bucket_limit(r->percent);
    for (size_t i = 0; i < n; i++) {
        const ro_fleet_dev *d = &devs[i];
        if (!ro_allowed(r, d->id) || ro_pin_find(r, d->id)) continue;
        if (!ro_board_match(release_board, d->board)) continue;
        out->known++;
        unsigned b = d->bucket >= 0 ? (unsigned)d->bucket : ro_bucket(r->id, d->id);
        if (b >= limit) continue;
        out->population++;
        if (d->running >= r->seq) out->confirmed++;
    }
    out->needs = ro_wave_needs(r->wave_fraction, out->population);
    char head[64];
    if (out->wave > 0)
        snprintf(head, sizeof head, "wave %d of %d (%g%%)", out->wave, r->n_waves, r->percent);
    else
        snprintf(head, sizeof head, "before the first wave (%g%%)", r->percent);
    if (r->n_waves == 0) {
        snprintf(out->waiting, sizeof out->waiting, "%g%%: %lld of %lld known devices in it confirmed",
                 r->percent, (long long)out->confirmed, (long long)out->population);
        return;
    }
    if (out->next_percent < 0) {
        snprintf(out->waiting, sizeof out->waiting, "%s, the last: %lld of %lld confirmed",
                 head, (long long)out->confirmed, (long long)out->population);
        return;
    }
    if (r->phase != RO_ACTIVE) {
        snprintf(out->waiting, sizeof out->waiting, "%s: %lld of %lld confirmed, needs %lld; %s",
                 head, (long long)out->confirmed, (long long)out->population,
                 (long long)out->needs, ro_phase_name(r->phase));
        return;
    }
    if (out->population == 0) {
        if (out->known > 0) {
            int64_t left = r->wave_since + RO_EMPTY_WAVE_WAIT - now;
            out->advance = left <= 0;
            if (out->advance)
                snprintf(out->waiting, sizeof out->waiting,
                         "%s: none of the %lld known devices falls in it; next %g%%", head,
                         (long long)out->known, out->next_percent);
            else
                snprintf(out->waiting, sizeof out->waiting,
                         "%s: none of the %lld known devices falls in it yet; next %g%% in %lld s",
                         head, (long long)out->known, out->next_percent, (long long)left);
        } else {
            snprintf(out->waiting, sizeof out->waiting,
                     "%s: waiting for a device of this app to poll", head);
        }
        return;
    }
    out->advance = out->confirmed >= out->needs;
    snprintf(out->waiting, sizeof out->waiting, "%s: %lld of %lld confirmed, needs %lld%s", head,
             (long long)out->confirmed, (long long)out->population, (long long)out->needs,
             out->advance ? "; advancing" : "");
}

/* ---- actions ---------------------------------------------------------------------- */

int ro_action_parse(const char *s)
{
    if (!s) return -1;
    if (strcmp(s, "pause") == 0) return RO_ACT_PAUSE;
    if (strcmp(s, "resume") == 0) return RO_ACT_RESUME;
    if (strcmp(s, "abort") == 0) return RO_ACT_ABORT;
    return -1;
}

const char *ro_action_apply(ro_phase *phase, ro_action a)
{
    if (*phase == RO_ABORTED || *phase == RO_SUPERSEDED)
        return "this rollout is over (aborted or superseded): create a new one";
    switch (a) {
    case RO_ACT_PAUSE:
        if (*phase == RO_PAUSED) return "already paused";
        *phase = RO_PAUSED;
        return NULL;
    case RO_ACT_RESUME:
        if (*phase == RO_ACTIVE) return "not paused: nothing to resume";
        *phase = RO_ACTIVE;
        return NULL;
    case RO_ACT_ABORT:
        *phase = RO_ABORTED;
        return NULL;
    }
    return "unknown action";
}
