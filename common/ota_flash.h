/*
 * ota_flash.h: the flash interface a port provides to the update state
 * machine (ota_update.h), and the layout of the regions it manages.
 *
 *   ota_flash    read / write / erase a page, plus the geometry
 *   ota_region   a page-aligned range of flash
 *   ota_layout   boot record copies, program slots A and B, golden program
 *
 * The model is NOR flash as found on microcontrollers: erasing a page sets
 * every byte of it to `erased` (0xFF on STM32); a write may only program
 * bytes that are erased, at offsets and lengths that are multiples of
 * `write_align`.  Pages may differ in size (the Espruino Pico's Storage is
 * three 16 KB pages plus one 128 KB page), so the port answers "how big is
 * the page that starts here".  Offsets are from the start of the flash area
 * the port exposes, not CPU addresses.
 *
 * A power cut may interrupt any write or erase.  The state machine assumes
 * only that an interrupted operation leaves the bytes it touched in some
 * unknown state (old, erased, programmed or garbage) and touches nothing
 * else.
 */
#ifndef OTA_FLASH_H
#define OTA_FLASH_H

#include <stddef.h>
#include <stdint.h>
#include "ota_err.h"

/* Largest write alignment supported (bytes).  Records and headers are laid
 * out in multiples of it. */
#define OTA_FLASH_MAX_ALIGN 64

/* The port.  Every function returns OTA_OK or OTA_ERR_FLASH (hardware
 * failure; the state machine then stops and fails closed); it never
 * returns before the operation is durable. */
typedef struct ota_flash {
    void *ctx;   /* the port's own state, passed back as first argument */

    /* Copy len bytes at off into buf. */
    ota_err (*read)(void *ctx, uint32_t off, uint8_t *buf, size_t len);

    /* Program len bytes of data at off.  off and len are multiples of
     * write_align and the target bytes are erased (the state machine
     * guarantees both). */
    ota_err (*write)(void *ctx, uint32_t off, const uint8_t *data, size_t len);

    /* Erase the whole page that starts at off. */
    ota_err (*erase)(void *ctx, uint32_t off);

    /* Size in bytes of the page that starts at off, or 0 when off is not
     * the start of a page (or outside the flash). */
    uint32_t (*page_size)(void *ctx, uint32_t off);

    uint32_t write_align;  /* 1..OTA_FLASH_MAX_ALIGN, a power of two */
    uint8_t erased;        /* value of an erased byte (0xFF, sometimes 0x00) */
} ota_flash;

/* A range of flash: starts and ends on page boundaries. */
typedef struct ota_region {
    uint32_t off;  /* first byte */
    uint32_t len;  /* bytes; 0 = region absent */
} ota_region;

/* Where things live.  The five regions must not overlap, and each must be
 * made of whole pages: erasing one never touches another.
 *
 *   boot[0], boot[1]  the two copies of the journaled boot record; each is
 *                     a log of 64-byte records, at least one page each;
 *                     only one of them is ever erased at a time
 *   slot[0], slot[1]  program slots A and B: one holds the last confirmed
 *                     program, the other receives the candidate.  The
 *                     slot that runs is never written.
 *   golden            the recovery program, written once at provisioning
 *                     and never erased by the state machine.  It may live
 *                     in memory the port never lets anyone erase (e.g.
 *                     embedded in the firmware image). */
typedef struct ota_layout {
    ota_region boot[2];
    ota_region slot[2];
    ota_region golden;
} ota_layout;

#endif
