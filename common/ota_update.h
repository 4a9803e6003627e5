/*
 * ota_update.h: the device's never-brick update state machine, portable and
 * allocation-free, behind the flash interface of ota_flash.h.  Table of
 * contents:
 *
 *   device        ota_dev (flash + layout + attempt limit), ota_dev_check
 *   boot          ota_boot: pick and verify the program to run
 *   trial         ota_confirm: the running trial program proved itself
 *   install       ota_install_begin / _write / _finish, ota_install_offset
 *                 (streaming, resumable after a dropped link or power cut)
 *   status        ota_status: what to report (trial, confirmed, rolled_back...)
 *   helpers       ota_slot_capacity, ota_slot_verify, ota_crc32
 *
 * How it never bricks (details in device/PORTING.md):
 *  - The boot record is a journal kept in two regions (ota_layout.boot[]).
 *    Each record is 64 bytes with a sequence number and a CRC32; the valid
 *    record with the highest sequence is the state.  A new record is
 *    appended after the last one; when that copy is full the OTHER copy is
 *    erased and the record written there, so at every instant one copy holds
 *    the newest complete record.
 *  - A candidate is written to the slot that does not hold the confirmed
 *    program, page by page while the old program keeps running.  Progress is
 *    made durable per 256-byte block by a marker, so an install resumes from
 *    the last durable block after a power cut (from the exact byte after a
 *    dropped link).  Only after the whole candidate reads back with the
 *    stated SHA-256 does one record switch it to "trial, 0 attempts".
 *  - Each boot of a trial first makes "attempts + 1" durable, then runs it;
 *    ota_confirm makes it the confirmed program; after max_attempts boots
 *    without confirm the next boot writes "back to the confirmed program,
 *    rolled back" and runs that.
 *  - Every boot re-hashes the program it is about to run against the hash
 *    stored with it; if neither slot verifies, the golden program runs.
 *
 * Rules: no heap, no mutable statics, no stdio; the caller owns every
 * struct; all functions return ota_err (OTA_OK = 0) and fail closed.
 */
#ifndef OTA_UPDATE_H
#define OTA_UPDATE_H

#include <stddef.h>
#include <stdint.h>
#include "ota_err.h"
#include "ota_flash.h"
#include "ota_crypto.h"

#define OTA_SLOT_NONE    0xFF   /* "no slot" in ota_status and records */
#define OTA_RUN_SLOT_A   0      /* ota_boot_info.which */
#define OTA_RUN_SLOT_B   1
#define OTA_RUN_GOLDEN   2

#define OTA_BLOCK_SIZE   256    /* install progress granularity (bytes) */
#define OTA_SLOT_HDR_SIZE 128   /* slot header space before the program bytes */
#define OTA_RECORD_SIZE  64     /* one boot record */
#define OTA_DEFAULT_MAX_ATTEMPTS 3

/* The device: its flash port, its layout, and its policy.  Plain values;
 * the flash struct is the port's and must outlive the ota_dev. */
typedef struct ota_dev {
    const ota_flash *flash;   /* the port */
    ota_layout layout;        /* where the regions are */
    uint8_t max_attempts;     /* trial boots before reverting (1..250; 0 = default 3) */
} ota_dev;

/* Check the layout against the port's geometry: each region whole pages,
 * no overlap, boot copies able to hold a record, slots able to hold at
 * least one block, write_align a power of two <= OTA_FLASH_MAX_ALIGN.
 * OTA_ERR_ARG or OTA_ERR_ALIGN when something is off.  Every other call
 * assumes a layout that passed this check. */
ota_err ota_dev_check(const ota_dev *dev);

/* ---- boot ----------------------------------------------------------------- */

/* What ota_boot decided to run. */
typedef struct ota_boot_info {
    uint8_t  which;      /* OTA_RUN_SLOT_A, OTA_RUN_SLOT_B or OTA_RUN_GOLDEN */
    uint8_t  trial;      /* 1: a trial boot (the program must call ota_confirm) */
    uint8_t  attempt;    /* trial boots so far, this one included (trial only) */
    uint8_t  reverted;   /* 1: this boot reverted a failed trial */
    uint64_t seq;        /* release sequence of the program (golden: its own) */
    uint32_t off;        /* flash offset of the program's first byte */
    uint32_t size;       /* program bytes */
    uint8_t  sha256[OTA_SHA256_SIZE]; /* hash it was verified against */
} ota_boot_info;

/* Decide what runs after a reset, making the decision durable first:
 * a trial with attempts left gets "attempts + 1" written, then runs; a
 * trial out of attempts (or whose slot no longer verifies) is reverted in
 * the record; otherwise the confirmed program runs; if it does not verify,
 * the golden program.  The program returned has just been hashed in full
 * and matches its stored SHA-256.  A record write that fails never stops a
 * boot: the trial is then not run (a trial never runs uncounted) and the
 * confirmed program runs instead.  OTA_ERR_NO_PROGRAM when nothing
 * verifies (golden corrupt too; OTA_ERR_FLASH if the port also failed).
 * May write the boot record (never a program slot). */
ota_err ota_boot(ota_boot_info *out, const ota_dev *dev);

/* The running program, as ota_boot described it in *running, says it
 * works.  If it is the trial candidate it becomes the confirmed program (one
 * record write).  OTA_OK with nothing written when there is no trial (a
 * confirmed program confirming, or a second call); OTA_ERR_STATE when a
 * trial is pending but *running is not it (the boot could not count that
 * trial and ran the confirmed program: it must not vouch for the candidate). */
ota_err ota_confirm(const ota_dev *dev, const ota_boot_info *running);

/* ---- status --------------------------------------------------------------- */

/* States a device reports (POST /report {state}).  The install ones
 * (downloading, downloaded, rejected) are reported by the caller around
 * ota_install_*; ota_status derives the rest from the boot record. */
typedef enum ota_state {
    OTA_STATE_NONE = 0,        /* nothing installed beyond the golden program */
    OTA_STATE_DOWNLOADING,
    OTA_STATE_DOWNLOADED,
    OTA_STATE_TRIAL,           /* a candidate is on trial */
    OTA_STATE_CONFIRMED,       /* running a confirmed program, nothing pending */
    OTA_STATE_ROLLED_BACK,     /* last trial failed; back on the confirmed program */
    OTA_STATE_REJECTED,        /* an offer was refused (reason: an ota_err) */
    OTA_STATE_FAILED           /* an install or a trial slot failed verification */
} ota_state;

/* Lower-case report name of a state ("rolled_back"); never NULL. */
const char *ota_state_name(ota_state s);

typedef struct ota_status {
    ota_state state;      /* TRIAL, CONFIRMED, ROLLED_BACK, FAILED or NONE */
    uint8_t  active;      /* slot of the confirmed program, or OTA_SLOT_NONE */
    uint8_t  trial;       /* slot on trial, or OTA_SLOT_NONE */
    uint8_t  attempts;    /* trial boots so far */
    uint8_t  found;       /* 1: a valid boot record exists */
    uint64_t active_seq;  /* sequence of the confirmed program (0: none) */
    uint64_t trial_seq;   /* sequence on trial (0: none) */
    uint64_t event_seq;   /* sequence the last event (confirm/rollback/failure) is about */
    uint32_t record_seq;  /* journal sequence of the record read */
    uint64_t pending_seq; /* candidate slot: a newer release being installed (0: none) */
    uint32_t pending_bytes; /* its bytes durable so far (resume point after a power cut) */
} ota_status;

/* Read the newest valid boot record, and the candidate slot's header.
 * state: TRIAL while a candidate is on trial; else DOWNLOADING when the
 * candidate slot holds part of a newer release (DOWNLOADED when all of it,
 * not yet switched to trial); else ROLLED_BACK or FAILED when the last
 * trial ended so; else CONFIRMED; NONE when only the golden program is
 * there (found 0: no record at all, a fresh device).  Read-only. */
ota_err ota_status_read(ota_status *out, const ota_dev *dev);

/* The sequence a poll reports as running (and anti-rollback compares to):
 * the confirmed program's, 0 when only the golden program is there. */
uint64_t ota_running_seq(const ota_status *st);

/* ---- install -------------------------------------------------------------- */

/* What is being installed (from an accepted release statement). */
typedef struct ota_image {
    uint64_t seq;                            /* release sequence */
    uint32_t size;                           /* program bytes */
    uint8_t  sha256[OTA_SHA256_SIZE];        /* SHA-256 of those bytes */
    uint8_t  statement_sha256[OTA_SHA256_SIZE]; /* SHA-256 of the signed statement
                                                   (identifies the release; zero ok) */
} ota_image;

/* Streaming install context: caller-owned, no pointers, may be copied. */
typedef struct ota_install {
    ota_sha256_ctx hash;         /* SHA-256 over bytes [0, received) */
    ota_image img;           /* what is being written */
    uint32_t slot_off;       /* flash offset of the target slot */
    uint32_t slot_len;
    uint32_t received;       /* bytes accepted so far (durable + buffered) */
    uint32_t used;           /* bytes waiting in buf */
    uint8_t  target;         /* 0/1 = slot A/B, OTA_RUN_GOLDEN = golden */
    uint8_t  started;        /* 1 after a successful begin */
    ota_err  err;            /* sticky error */
    uint8_t  buf[OTA_BLOCK_SIZE]; /* the block being filled */
} ota_install;

/* flags for ota_install_begin / _finish */
#define OTA_INSTALL_GOLDEN    1u  /* begin: write the golden region (provisioning only) */
#define OTA_INSTALL_CONFIRMED 2u  /* finish: make it the confirmed program directly
                                     (factory provisioning), skipping the trial */

/* Start (or resume) writing img into the candidate slot: the slot that does
 * not hold the confirmed program.  If that slot already holds a partial
 * install of the same image (same seq, size, sha256, statement hash) whose
 * unwritten part is still erased, the install resumes: the durable bytes
 * are re-hashed from flash and *resume_at says where the download must
 * continue (use an HTTP Range from there).  Otherwise the slot is erased and
 * *resume_at is 0.  Errors: OTA_ERR_STATE while a trial is pending (confirm
 * or revert first), OTA_ERR_TOO_BIG when img->size exceeds the slot,
 * OTA_ERR_ARG, OTA_ERR_FLASH.  Never touches the confirmed program's slot. */
ota_err ota_install_begin(ota_install *in, const ota_dev *dev, const ota_image *img,
                          unsigned flags, uint32_t *resume_at);

/* Append len bytes at offset ota_install_offset(in).  Full blocks are
 * written and marked durable as they fill.  OTA_ERR_TOO_LONG when the data
 * would run past img->size; errors are sticky. */
ota_err ota_install_write(ota_install *in, const ota_dev *dev, const uint8_t *data, size_t len);

/* The offset the next ota_install_write continues at (after a dropped link
 * the download resumes exactly there). */
uint32_t ota_install_offset(const ota_install *in);

/* The SHA-256 of everything received so far (for ota_release_check_bundle);
 * does not disturb the install. */
void ota_install_digest(const ota_install *in, uint8_t out[OTA_SHA256_SIZE]);

/* Write the last partial block, check the size (OTA_ERR_TRUNCATED) and the
 * streamed hash (OTA_ERR_HASH_MISMATCH: the slot is then erased so no later
 * resume reuses bad bytes), read the whole slot back and hash it again, then
 * make it the trial candidate with 0 attempts (or, with
 * OTA_INSTALL_CONFIRMED, the confirmed program).  The next ota_boot runs it.
 * The golden install (begin flag) writes no record. */
ota_err ota_install_finish(ota_install *in, const ota_dev *dev, unsigned flags);

/* Give up an install whose bytes were refused outside the slot (a bundle
 * encoding's framing, its transferred hash): erase the candidate slot so no
 * later resume builds on what was written, and end the install (further
 * calls: OTA_ERR_STATE).  Never touches the confirmed program's slot. */
ota_err ota_install_abort(ota_install *in, const ota_dev *dev);

/* ---- helpers -------------------------------------------------------------- */

/* Program bytes a slot region can hold (header and progress markers
 * excluded); 0 when too small. */
uint32_t ota_slot_capacity(const ota_dev *dev, ota_region slot);

/* Read the slot's header and hash its program: OTA_OK when the header is
 * intact, complete and the bytes hash to the stored SHA-256.  *out gets the
 * program's place and identity (which left as OTA_RUN_SLOT_A).  Read-only. */
ota_err ota_slot_verify(ota_boot_info *out, const ota_dev *dev, ota_region slot);

/* CRC-32 (IEEE 802.3, as zlib), continuing from crc (start with 0). */
uint32_t ota_crc32(uint32_t crc, const uint8_t *data, size_t len);

#endif
