/*
 * rollout.h: otad's whole rollout policy as pure functions over explicit
 * inputs -- the rollout, the device's facts, its history -- with no globals,
 * locks or I/O, so the same inputs give the same answer on any replica and
 * every rule has a unit test (tests/unit/test_rollout.c).
 *
 *   buckets      ro_bucket: SHA-256("otad-bucket-v1\0" || u64le rollout id ||
 *                device id) mod 10000; offered when bucket < percent x 100
 *   eligibility  ro_decide: pins, state (pause), allow-list, percentage,
 *                board, sequence, blocks -> the release to offer or why not
 *   boards       ro_board_match: ASCII case-insensitive; empty release board
 *                = any board; a device that sends no board matches any
 *   blocks       ro_report_blocks: which reports mean "never offer this
 *                release to this device again" -- a table keyed by ota_err
 *   waves        ro_wave_eval: each wave needs a fraction of the devices it
 *                actually includes (at least 1, at most all of them)
 *   threshold    ro_threshold_crossed: bad outcomes / outcomes > threshold
 *   pause/resume ro_action_apply: the state transitions and their conflicts
 *
 * state.c keeps the caches (snapshot, secrets, blocks, batches) and calls
 * these; nothing here allocates.
 */
#ifndef SRV_ROLLOUT_H
#define SRV_ROLLOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ota_err.h"

#define RO_MAX_WAVES 16
#define RO_BUCKETS 10000u

/* A device's state for one release, as reports name them. */
typedef enum ro_rstate {
    RO_ST_DOWNLOADING = 0,
    RO_ST_DOWNLOADED,
    RO_ST_TRIAL,
    RO_ST_CONFIRMED,
    RO_ST_ROLLED_BACK,
    RO_ST_REJECTED,
    RO_ST_FAILED,
    RO_ST_N
} ro_rstate;
const char *ro_state_name(int st);          /* "confirmed"; NULL out of range */
int ro_state_parse(const char *s);          /* -1 when not a state */
/* An outcome: confirmed, rolled back, rejected or failed (not in progress). */
bool ro_state_is_outcome(int st);
bool ro_state_is_bad(int st);               /* rolled back, rejected, failed */

typedef enum ro_phase { RO_ACTIVE = 0, RO_PAUSED, RO_ABORTED, RO_SUPERSEDED } ro_phase;
const char *ro_phase_name(ro_phase p);
int ro_phase_parse(const char *s);          /* -1 when unknown */

typedef struct ro_pin {
    const char *device;
    uint64_t seq;                           /* 0 = hold the device where it is */
} ro_pin;

typedef struct ro_rollout {
    int64_t  id;
    uint64_t seq;                           /* the release rolled out */
    ro_phase phase;
    double   percent;                       /* 0..100: share of buckets */
    const char *const *allow;               /* sorted by strcmp; n_allow 0 = everybody */
    size_t   n_allow;
    const ro_pin *pins;                     /* sorted by device (strcmp) */
    size_t   n_pins;
    const double *waves;                    /* ascending percentages */
    int      n_waves;
    double   wave_fraction;                 /* (0, 1]: share of a wave that must confirm */
    double   error_threshold;               /* 0..1; > 1 = none */
    int64_t  min_reports;                   /* outcomes before the threshold applies */
    int64_t  wave_since;                    /* when the current percentage was set (s) */
} ro_rollout;

typedef struct ro_release {                 /* one release of the app */
    uint64_t seq;
    const char *board;                      /* "" = any board */
    uint16_t fw;                            /* firmware it runs on only (FORMAT.md 2c: a
                                               pretokenised program's target, 2v29 -> 229);
                                               0 = any; RO_FW_NONE = none */
} ro_release;

typedef struct ro_device {                  /* what the device says on a poll */
    const char *id;
    uint64_t running;                       /* sequence it runs (0 = none) */
    const char *board;                      /* NULL or "" = not sent */
    uint16_t firmware;                      /* 2v29 -> 229; RO_FW_UNKNOWN: not said;
                                               RO_FW_UNASKED: not known yet, and no offer
                                               is made before it says (compact idle poll) */
} ro_device;

/* Firmware values (FORMAT.md 2c, 6, 6b). */
#define RO_FW_UNKNOWN 0u        /* device: did not say (fail closed) */
#define RO_FW_UNASKED 0xFFFFu   /* device: not known yet; it is asked before an offer */
#define RO_FW_NONE    0xFFFEu   /* release: pretokenised without a target: no firmware */

typedef struct ro_history {                 /* what otad remembers of the device */
    const uint64_t *blocked;                /* this app's sequences never to offer it */
    size_t n_blocked;
} ro_history;

typedef enum ro_why {
    RO_OFFER = 0,       /* offer *seq */
    RO_NO_ROLLOUT,      /* no active or paused rollout for the app */
    RO_NOT_ACTIVE,      /* rollout paused (pins still apply) */
    RO_NOT_ALLOWED,     /* not on the allow-list */
    RO_NOT_IN_WAVE,     /* bucket at or above the percentage */
    RO_HELD,            /* pinned to 0 */
    RO_NO_RELEASE,      /* the release to offer is not published */
    RO_NOT_NEWER,       /* device runs that sequence or a later one */
    RO_WRONG_BOARD,     /* release built for another board */
    RO_WRONG_FIRMWARE,  /* pretokenised for a firmware the device has not said it runs */
    RO_BLOCKED          /* the device rolled back from / rejected it for good */
} ro_why;
const char *ro_why_text(ro_why w);

/* 0..9999, the same for a (rollout, device) pair everywhere. */
unsigned ro_bucket(int64_t rollout_id, const char *device);
/* Buckets below this are in the rollout at `percent`. */
unsigned ro_bucket_limit(double percent);
/* ASCII case-insensitive equality; an empty release board matches any
 * device; a device that sent no board (NULL/"") matches any release. */
bool ro_board_match(const char *release_board, const char *device_board);
/* A release for any firmware (fw 0) matches every device; a pretokenised
 * one only a device that said it runs its target, or one not asked yet
 * (RO_FW_UNASKED: the caller asks before it makes the offer); RO_FW_NONE
 * matches none. */
bool ro_firmware_match(uint16_t release_fw, uint16_t device_fw);
bool ro_allowed(const ro_rollout *r, const char *device);
const ro_pin *ro_pin_find(const ro_rollout *r, const char *device);
bool ro_blocked(const ro_history *h, uint64_t seq);

/* The decision for one poll.  r may be NULL (no rollout).  rels: the app's
 * releases sorted by seq.  On RO_OFFER *seq is the release to offer. */
ro_why ro_decide(const ro_rollout *r, const ro_release *rels, size_t n_rels,
                 const ro_device *d, const ro_history *h, uint64_t *seq);

/* Whether a stored report means "never offer (device, release) again": a
 * rollback always; a rejection or failure only for a cause the release
 * itself earned and that cannot change (the table in rollout.c: wrong app,
 * bundle encoding the device cannot install, bundle too big, program threw
 * at start, never confirmed).  A wrong board, an unknown key, damage or
 * replay in transit never block.  Reads the numeric code only. */
bool ro_report_blocks(int state, int code);
bool ro_code_blocks(int code);

/* Error threshold: once min_reports outcomes exist, bad / outcomes >
 * error_threshold.  On true, why gets a sentence for the pause reason. */
typedef struct ro_counts { int64_t by_state[RO_ST_N]; } ro_counts;
bool ro_threshold_crossed(const ro_rollout *r, const ro_counts *c, char *why, size_t cap);

/* Waves.  The devices the current wave includes are the known devices of
 * the app that are allowed, not pinned, whose board matches the release and
 * whose bucket is below the current percentage.  The wave needs
 * min(population, max(1, ceil(wave_fraction x population))) of them running
 * the release (or a later one).  A wave that includes none of the known
 * devices is passed once it has been in place RO_EMPTY_WAVE_WAIT seconds
 * (devices that were not known yet may still show up in it); with no device
 * known at all, it waits. */
#define RO_EMPTY_WAVE_WAIT 30
typedef struct ro_fleet_dev {
    const char *id;
    const char *board;                      /* last board sent ("" = none) */
    uint64_t running;                       /* running sequence */
    int      bucket;                        /* ro_bucket(rollout id, id) when the caller
                                               has it cached, else -1 */
} ro_fleet_dev;

typedef struct ro_wave_status {
    int      wave;                          /* 1-based current wave (0: not in any) */
    int      n_waves;
    double   percent;                       /* current percentage */
    double   next_percent;                  /* -1: last wave */
    int64_t  known;                         /* eligible devices known (any bucket) */
    int64_t  population;                    /* of them in the current wave */
    int64_t  confirmed;                     /* of those, running the release */
    int64_t  needs;
    bool     advance;                       /* move to next_percent now */
    char     waiting[200];                  /* "wave 1 of 3 (10%): 3 of 5 confirmed, needs 4" */
} ro_wave_status;
void ro_wave_eval(const ro_rollout *r, const char *release_board, const ro_fleet_dev *devs,
                  size_t n, int64_t now, ro_wave_status *out);
/* The wave's target alone: min(pop, max(1, ceil(fraction x pop))), 0 for 0. */
int64_t ro_wave_needs(double fraction, int64_t population);
/* The next wave's percentage above `percent`, or -1. */
double ro_wave_next(const double *waves, int n, double percent);

/* Operator actions.  Returns NULL and sets *phase, or the reason the
 * request conflicts with the current phase (a 409). */
typedef enum ro_action { RO_ACT_PAUSE, RO_ACT_RESUME, RO_ACT_ABORT } ro_action;
const char *ro_action_apply(ro_phase *phase, ro_action a);
int ro_action_parse(const char *s);         /* -1 when unknown */

#endif
