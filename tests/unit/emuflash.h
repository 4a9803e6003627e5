/*
 * emuflash.h: an emulated NOR flash in RAM for the update state machine's
 * tests (header only).  It counts every write and erase, can "cut power" at
 * the Nth of them (tearing that operation, then failing everything until
 * the test "reboots"), enforces NOR rules (writes only onto erased bytes,
 * aligned) and can forbid any change to a protected range (the running
 * program's slot).
 *
 * Tear modes for the operation at the cut:
 *   0  it does not happen at all
 *   1  the first half happens (prefix programmed / prefix erased)
 *   2  as 1, and the byte after the prefix is left as garbage
 */
#ifndef OTA_TEST_EMUFLASH_H
#define OTA_TEST_EMUFLASH_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "ota_flash.h"

#define EMU_MAX_PAGES 128

typedef struct emu {
    uint8_t *mem;               /* the flash bytes */
    uint32_t size;              /* total bytes */
    uint32_t page_off[EMU_MAX_PAGES + 1]; /* page starts, then the end */
    int npages;
    long ops;                   /* writes + erases performed (or attempted) */
    long cut_at;                /* op index to tear; -1: never */
    int tear;                   /* tear mode at the cut (0..2) */
    int dead;                   /* power off: every call fails */
    int fail_writes;            /* writes and erases fail (worn-out flash), reads work */
    long violations;            /* NOR rule or protection broken */
    uint32_t prot_off, prot_len;/* range nobody may change (len 0: none) */
    ota_flash port;
} emu;

static ota_err emu_read(void *ctx, uint32_t off, uint8_t *buf, size_t len)
{
    emu *e = ctx;
    if (e->dead)
        return OTA_ERR_FLASH;
    if (off > e->size || len > e->size - off) {
        e->violations++;
        return OTA_ERR_FLASH;
    }
    memcpy(buf, e->mem + off, len);
    return OTA_OK;
}

static int emu_touches_prot(const emu *e, uint32_t off, uint32_t len)
{
    return e->prot_len && off < e->prot_off + e->prot_len && e->prot_off < off + len;
}

/* 1 when this op is the one to tear (and the power goes off after it). */
static int emu_cut_now(emu *e)
{
    long n = e->ops++;
    if (e->cut_at >= 0 && n == e->cut_at) {
        e->dead = 1;
        return 1;
    }
    return 0;
}

static ota_err emu_write(void *ctx, uint32_t off, const uint8_t *data, size_t len)
{
    emu *e = ctx;
    if (e->dead || e->fail_writes)
        return OTA_ERR_FLASH;
    if (off > e->size || len > e->size - off || off % e->port.write_align || len % e->port.write_align) {
        e->violations++;
        return OTA_ERR_FLASH;
    }
    if (emu_touches_prot(e, off, (uint32_t)len))
        e->violations++;
    for (size_t i = 0; i < len; i++)
        if (e->mem[off + i] != e->port.erased)
            e->violations++;   /* writing over non-erased bytes */
    size_t n = len;
    int torn = emu_cut_now(e);
    if (torn)
        n = e->tear == 0 ? 0 : len / 2;
    for (size_t i = 0; i < n; i++) {
        /* NOR programs bits towards the non-erased value only */
        if (e->port.erased == 0xFF)
            e->mem[off + i] &= data[i];
        else
            e->mem[off + i] |= data[i];
    }
    if (torn && e->tear == 2 && n < len)
        e->mem[off + n] = (uint8_t)(0x5A ^ (off * 7 + n));
    return torn ? OTA_ERR_FLASH : OTA_OK;
}

static int emu_page_index(const emu *e, uint32_t off)
{
    for (int i = 0; i < e->npages; i++)
        if (e->page_off[i] == off)
            return i;
    return -1;
}

static ota_err emu_erase(void *ctx, uint32_t off)
{
    emu *e = ctx;
    if (e->dead || e->fail_writes)
        return OTA_ERR_FLASH;
    int p = emu_page_index(e, off);
    if (p < 0) {
        e->violations++;
        return OTA_ERR_FLASH;
    }
    uint32_t len = e->page_off[p + 1] - off;
    if (emu_touches_prot(e, off, len))
        e->violations++;
    uint32_t n = len;
    int torn = emu_cut_now(e);
    if (torn)
        n = e->tear == 0 ? 0 : len / 2;
    memset(e->mem + off, e->port.erased, n);
    if (torn && e->tear == 2 && n < len)
        e->mem[off + n] = (uint8_t)(0xA5 ^ off);
    return torn ? OTA_ERR_FLASH : OTA_OK;
}

static uint32_t emu_page_size(void *ctx, uint32_t off)
{
    emu *e = ctx;
    int p = emu_page_index(e, off);
    return p < 0 ? 0 : e->page_off[p + 1] - off;
}

/* Set up a flash of the given page sizes (a list ending with 0), erased. */
static void emu_init(emu *e, const uint32_t *pages, uint32_t align, uint8_t erased)
{
    memset(e, 0, sizeof *e);
    uint32_t off = 0;
    for (int i = 0; pages[i] && i < EMU_MAX_PAGES; i++) {
        e->page_off[i] = off;
        off += pages[i];
        e->npages = i + 1;
    }
    e->page_off[e->npages] = off;
    e->size = off;
    e->mem = malloc(off);
    memset(e->mem, erased, off);
    e->cut_at = -1;
    e->port.ctx = e;
    e->port.read = emu_read;
    e->port.write = emu_write;
    e->port.erase = emu_erase;
    e->port.page_size = emu_page_size;
    e->port.write_align = align;
    e->port.erased = erased;
}

static void emu_free(emu *e)
{
    free(e->mem);
    e->mem = NULL;
}

/* "Reboot": power back on, no cut pending, nothing protected. */
static inline void emu_power_on(emu *e)
{
    e->dead = 0;
    e->cut_at = -1;
    e->prot_len = 0;
}

#endif
