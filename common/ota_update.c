/*
 * ota_update.c: the device update state machine (see ota_update.h for the
 * contract, device/PORTING.md for the port's side).
 *
 * On-flash formats (all integers little-endian):
 *
 * Boot record, 64 bytes, appended to the log in boot[0] or boot[1]:
 *   0  4  magic "OTAB"
 *   4  1  version (1)
 *   5  1  active slot (0, 1, 0xFF none)
 *   6  1  trial slot (0, 1, 0xFF none)
 *   7  1  trial boots so far
 *   8  4  record sequence (journal order; the highest valid one wins)
 *   12 1  last event (EV_*)
 *   13 3  zero
 *   16 8  active program's release sequence
 *   24 8  trial program's release sequence
 *   32 8  release sequence the last event is about
 *   40 20 zero
 *   60 4  CRC-32 of bytes 0..59
 *
 * Program slot (also the golden region):
 *   [0, 128)                 header: "OTAP", version 1, kind, 0, seq u64 @8,
 *                            size u32 @16, 0 u32 @20, sha256 @24,
 *                            statement sha256 @56, CRC-32 of 0..87 @88,
 *                            then erased bytes
 *   [128, 128 + n*256)       program bytes, block k at 128 + k*256
 *   [.., + n*align)          progress markers: marker k is written (any
 *                            non-erased value) after block k is fully written
 *   n = (slot length - 128) / (256 + align)
 *
 * Why markers rather than "the first erased byte": program bytes may
 * legitimately equal the erased value, and a marker written only after its
 * block has been written proves the block complete even when the marker
 * write itself was torn (any non-erased bit counts).
 */
#include <string.h>
#include "ota_update.h"

#define REC_VERSION  1
#define HDR_VERSION  1
#define HDR_USED     92    /* header bytes covered by the layout above */

enum { EV_NONE = 0, EV_CONFIRMED = 1, EV_ROLLED_BACK = 2, EV_FAILED = 3 };

/* The decoded boot record. */
typedef struct rec {
    uint32_t rseq;        /* journal sequence */
    uint8_t  active;      /* confirmed slot or OTA_SLOT_NONE */
    uint8_t  trial;       /* trial slot or OTA_SLOT_NONE */
    uint8_t  attempts;    /* trial boots so far */
    uint8_t  event;       /* EV_* */
    uint64_t active_seq;
    uint64_t trial_seq;
    uint64_t event_seq;
} rec;

/* Where the journal stands after a scan of both copies. */
typedef struct journal {
    int      found;       /* a valid record exists */
    rec      newest;      /* the valid record newest by rseq_newer() */
    uint8_t  region;      /* copy holding it (0 when none found) */
    uint32_t next[2];     /* per copy: first position after the last non-erased one */
} journal;

/* ---- little helpers ------------------------------------------------------ */

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

uint32_t ota_crc32(uint32_t crc, const uint8_t *data, size_t len)
{
    /* Bitwise, reflected polynomial 0xEDB88320: no table, so no 1 KB of
     * flash; a boot record is 60 bytes and a header 88. */
    crc = ~crc;
    for (size_t i = 0; i < len; i++) {
        crc ^= data[i];
        for (int b = 0; b < 8; b++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

static int all_erased(const uint8_t *p, size_t len, uint8_t erased)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] != erased)
            return 0;
    return 1;
}

static uint32_t round_up(uint32_t v, uint32_t align)
{
    return (v + align - 1) & ~(align - 1);
}

/* Flash access with the port's error mapped to OTA_ERR_FLASH. */
static ota_err fread_(const ota_dev *dev, uint32_t off, uint8_t *buf, size_t len)
{
    return dev->flash->read(dev->flash->ctx, off, buf, len) == OTA_OK ? OTA_OK : OTA_ERR_FLASH;
}

/* Write, then read back and compare: a write the port reports done but
 * that did not stick is caught here rather than at the next boot. */
static ota_err fwrite_(const ota_dev *dev, uint32_t off, const uint8_t *data, size_t len)
{
    uint8_t chk[32];
    if (dev->flash->write(dev->flash->ctx, off, data, len) != OTA_OK)
        return OTA_ERR_FLASH;
    for (size_t done = 0; done < len;) {
        size_t n = len - done < sizeof chk ? len - done : sizeof chk;
        if (fread_(dev, off + (uint32_t)done, chk, n) != OTA_OK || memcmp(chk, data + done, n) != 0)
            return OTA_ERR_FLASH;
        done += n;
    }
    return OTA_OK;
}

/* Erase every page of a region, first to last. */
static ota_err erase_region(const ota_dev *dev, ota_region r)
{
    uint32_t off = r.off, end = r.off + r.len;
    while (off < end) {
        uint32_t ps = dev->flash->page_size(dev->flash->ctx, off);
        if (ps == 0)
            return OTA_ERR_ALIGN;
        if (dev->flash->erase(dev->flash->ctx, off) != OTA_OK)
            return OTA_ERR_FLASH;
        off += ps;
    }
    return OTA_OK;
}

/* OTA_OK when [off, off+len) reads as erased. */
static ota_err check_erased(const ota_dev *dev, uint32_t off, uint32_t len)
{
    uint8_t buf[64];
    while (len > 0) {
        uint32_t n = len < sizeof buf ? len : (uint32_t)sizeof buf;
        if (fread_(dev, off, buf, n) != OTA_OK)
            return OTA_ERR_FLASH;
        if (!all_erased(buf, n, dev->flash->erased))
            return OTA_ERR_INSTALL;
        off += n;
        len -= n;
    }
    return OTA_OK;
}

static uint8_t max_attempts(const ota_dev *dev)
{
    return dev->max_attempts ? dev->max_attempts : OTA_DEFAULT_MAX_ATTEMPTS;
}

/* ---- geometry ------------------------------------------------------------ */

static uint32_t slot_blocks(const ota_dev *dev, ota_region slot)
{
    uint32_t a = dev->flash->write_align;
    if (slot.len < OTA_SLOT_HDR_SIZE + OTA_BLOCK_SIZE + a)
        return 0;
    return (slot.len - OTA_SLOT_HDR_SIZE) / (OTA_BLOCK_SIZE + a);
}

uint32_t ota_slot_capacity(const ota_dev *dev, ota_region slot)
{
    if (dev == NULL || dev->flash == NULL)
        return 0;
    return slot_blocks(dev, slot) * OTA_BLOCK_SIZE;
}

static uint32_t payload_off(ota_region slot)
{
    return slot.off + OTA_SLOT_HDR_SIZE;
}

static uint32_t marker_off(const ota_dev *dev, ota_region slot, uint32_t k)
{
    return slot.off + OTA_SLOT_HDR_SIZE + slot_blocks(dev, slot) * OTA_BLOCK_SIZE
           + k * dev->flash->write_align;
}

/* 1 when marker k is written (any non-erased byte), 0 when erased, -1 on a
 * flash error. */
static int marker_set(const ota_dev *dev, ota_region slot, uint32_t k)
{
    uint8_t m[OTA_FLASH_MAX_ALIGN];
    uint32_t a = dev->flash->write_align;
    if (fread_(dev, marker_off(dev, slot, k), m, a) != OTA_OK)
        return -1;
    return all_erased(m, a, dev->flash->erased) ? 0 : 1;
}

static ota_err marker_write(const ota_dev *dev, ota_region slot, uint32_t k)
{
    uint8_t m[OTA_FLASH_MAX_ALIGN];
    uint32_t a = dev->flash->write_align;
    memset(m, (uint8_t)~dev->flash->erased, a);
    return fwrite_(dev, marker_off(dev, slot, k), m, a);
}

static ota_region slot_region(const ota_dev *dev, uint8_t which)
{
    return which == OTA_RUN_GOLDEN ? dev->layout.golden : dev->layout.slot[which & 1];
}

static int in_range(uint32_t off, uint32_t len, uint32_t total_end)
{
    return off <= total_end && len <= total_end - off;
}

ota_err ota_dev_check(const ota_dev *dev)
{
    if (dev == NULL || dev->flash == NULL || dev->flash->read == NULL || dev->flash->write == NULL
        || dev->flash->erase == NULL || dev->flash->page_size == NULL)
        return OTA_ERR_ARG;
    uint32_t a = dev->flash->write_align;
    if (a == 0 || a > OTA_FLASH_MAX_ALIGN || (a & (a - 1)) != 0)
        return OTA_ERR_ALIGN;
    ota_region r[5] = { dev->layout.boot[0], dev->layout.boot[1], dev->layout.slot[0],
                        dev->layout.slot[1], dev->layout.golden };
    for (int i = 0; i < 5; i++) {
        if (r[i].len == 0) {
            if (i < 4)
                return OTA_ERR_ARG;      /* only golden may be absent */
            continue;
        }
        if (!in_range(r[i].off, r[i].len, 0xFFFFFFFFu) || r[i].off % a != 0)
            return OTA_ERR_ALIGN;
        /* whole pages: walking page by page lands exactly on the end */
        uint32_t off = r[i].off, end = r[i].off + r[i].len;
        while (off < end) {
            uint32_t ps = dev->flash->page_size(dev->flash->ctx, off);
            if (ps == 0 || ps % a != 0 || ps > end - off)
                return OTA_ERR_ALIGN;
            off += ps;
        }
        for (int j = 0; j < i; j++) {
            if (r[j].len == 0)
                continue;
            if (r[i].off < r[j].off + r[j].len && r[j].off < r[i].off + r[i].len)
                return OTA_ERR_ARG;  /* overlap */
        }
    }
    if (dev->layout.boot[0].len < OTA_RECORD_SIZE || dev->layout.boot[1].len < OTA_RECORD_SIZE)
        return OTA_ERR_ARG;
    if (slot_blocks(dev, dev->layout.slot[0]) == 0 || slot_blocks(dev, dev->layout.slot[1]) == 0)
        return OTA_ERR_ARG;
    if (dev->layout.golden.len != 0 && slot_blocks(dev, dev->layout.golden) == 0)
        return OTA_ERR_ARG;
    return OTA_OK;
}

/* ---- boot record journal -------------------------------------------------- */

static void rec_encode(uint8_t out[OTA_RECORD_SIZE], const rec *r)
{
    memset(out, 0, OTA_RECORD_SIZE);
    memcpy(out, "OTAB", 4);
    out[4] = REC_VERSION;
    out[5] = r->active;
    out[6] = r->trial;
    out[7] = r->attempts;
    put32(out + 8, r->rseq);
    out[12] = r->event;
    put64(out + 16, r->active_seq);
    put64(out + 24, r->trial_seq);
    put64(out + 32, r->event_seq);
    put32(out + 60, ota_crc32(0, out, 60));
}

/* OTA_OK when the 64 bytes are an intact record of this version. */
static ota_err rec_decode(rec *r, const uint8_t in[OTA_RECORD_SIZE])
{
    if (memcmp(in, "OTAB", 4) != 0 || in[4] != REC_VERSION
        || get32(in + 60) != ota_crc32(0, in, 60))
        return OTA_ERR_BOOT_RECORD;
    r->active = in[5];
    r->trial = in[6];
    r->attempts = in[7];
    r->rseq = get32(in + 8);
    r->event = in[12];
    r->active_seq = get64(in + 16);
    r->trial_seq = get64(in + 24);
    r->event_seq = get64(in + 32);
    /* a record naming a slot that does not exist is not trusted either */
    if ((r->active > 1 && r->active != OTA_SLOT_NONE) || (r->trial > 1 && r->trial != OTA_SLOT_NONE)
        || (r->trial != OTA_SLOT_NONE && r->trial == r->active))
        return OTA_ERR_BOOT_RECORD;
    return OTA_OK;
}

static void rec_default(rec *r)
{
    memset(r, 0, sizeof *r);
    r->active = OTA_SLOT_NONE;
    r->trial = OTA_SLOT_NONE;
}

/* Journal sequence numbers are compared in serial-number arithmetic (RFC
 * 1982): a is newer than b when a - b, taken modulo 2^32, is in 1..2^31-1.
 * So 0 follows 0xFFFFFFFF: a wrap (only a corrupt or very old image gets
 * there) never makes every later record lose to an old one.  Two numbers
 * exactly 2^31 apart are not ordered; journal_write() keeps every record it
 * writes strictly newer than all others in the journal (see there). */
static int rseq_newer(uint32_t a, uint32_t b)
{
    uint32_t d = a - b;
    return d != 0 && d < 0x80000000u;
}

/* Read both copies.  Positions that are not erased but do not decode (a
 * torn write, or a torn erase of old records) are skipped for reading and
 * never written over. */
static ota_err journal_scan(journal *j, const ota_dev *dev)
{
    uint8_t buf[OTA_RECORD_SIZE];
    memset(j, 0, sizeof *j);
    rec_default(&j->newest);
    for (uint8_t c = 0; c < 2; c++) {
        ota_region r = dev->layout.boot[c];
        uint32_t n = r.len / OTA_RECORD_SIZE;
        for (uint32_t p = 0; p < n; p++) {
            if (fread_(dev, r.off + p * OTA_RECORD_SIZE, buf, OTA_RECORD_SIZE) != OTA_OK)
                return OTA_ERR_FLASH;
            if (all_erased(buf, OTA_RECORD_SIZE, dev->flash->erased))
                continue;
            j->next[c] = p + 1;
            rec r1;
            if (rec_decode(&r1, buf) != OTA_OK)
                continue;
            if (!j->found || rseq_newer(r1.rseq, j->newest.rseq)) {
                j->found = 1;
                j->newest = r1;
                j->region = c;
            }
        }
    }
    return OTA_OK;
}

/* 1 when rseq is strictly newer than every valid record in both copies:
 * then the scan picks the record written with it, whatever the order it
 * meets the others in (x newer than y and y newer than x cannot both hold).
 * *ok = 0 on a flash read error. */
static int rseq_beats_all(const ota_dev *dev, uint32_t rseq, int *ok)
{
    uint8_t buf[OTA_RECORD_SIZE];
    *ok = 1;
    for (uint8_t c = 0; c < 2; c++) {
        ota_region r = dev->layout.boot[c];
        uint32_t n = r.len / OTA_RECORD_SIZE;
        for (uint32_t p = 0; p < n; p++) {
            rec r1;
            if (fread_(dev, r.off + p * OTA_RECORD_SIZE, buf, OTA_RECORD_SIZE) != OTA_OK) {
                *ok = 0;
                return 0;
            }
            if (!all_erased(buf, OTA_RECORD_SIZE, dev->flash->erased) && rec_decode(&r1, buf) == OTA_OK
                && !rseq_newer(rseq, r1.rseq))
                return 0;
        }
    }
    return 1;
}

/* Make *r the newest record (its rseq is assigned here).  Appended after
 * the last used position of the copy holding the newest record; when that
 * copy is full, the other copy is erased and the record becomes its first.
 * Either way the previous newest record stays intact until the new one is
 * complete, so a power cut at any point leaves the old or the new state.
 *
 * A journal whose records are spread over the number circle (only a corrupt
 * image holds one: records written here are consecutive) may hold a record
 * that newest + 1 does not beat.  Then the journal is compacted: the other
 * copy is erased and gets the new record, then the copy with the old ones
 * is erased.  A power cut in between leaves the old state or the new one,
 * and the next write compacts again. */
static ota_err journal_write(const ota_dev *dev, rec *r)
{
    journal j;
    uint8_t buf[OTA_RECORD_SIZE];
    ota_err e = journal_scan(&j, dev);
    if (e != OTA_OK)
        return e;
    r->rseq = j.found ? j.newest.rseq + 1 : 1;
    uint8_t c = j.region;
    uint32_t pos = j.next[c];
    int ok = 1;
    if (j.found && !rseq_beats_all(dev, r->rseq, &ok)) {
        if (!ok)
            return OTA_ERR_FLASH;
        uint8_t o = c ^ 1;
        if ((e = erase_region(dev, dev->layout.boot[o])) != OTA_OK)
            return e;
        rec_encode(buf, r);
        if ((e = fwrite_(dev, dev->layout.boot[o].off, buf, OTA_RECORD_SIZE)) != OTA_OK)
            return e;
        return erase_region(dev, dev->layout.boot[c]);
    }
    if (!ok)
        return OTA_ERR_FLASH;
    if (pos >= dev->layout.boot[c].len / OTA_RECORD_SIZE) {
        c ^= 1;
        if ((e = erase_region(dev, dev->layout.boot[c])) != OTA_OK)
            return e;
        pos = 0;
    }
    rec_encode(buf, r);
    return fwrite_(dev, dev->layout.boot[c].off + pos * OTA_RECORD_SIZE, buf, OTA_RECORD_SIZE);
}

/* ---- slot header and verification ---------------------------------------- */

static void hdr_encode(uint8_t out[OTA_SLOT_HDR_SIZE], const ota_image *img, uint8_t erased, uint8_t kind)
{
    memset(out, erased, OTA_SLOT_HDR_SIZE);
    memset(out, 0, HDR_USED);
    memcpy(out, "OTAP", 4);
    out[4] = HDR_VERSION;
    out[5] = kind;
    put64(out + 8, img->seq);
    put32(out + 16, img->size);
    memcpy(out + 24, img->sha256, OTA_SHA256_SIZE);
    memcpy(out + 56, img->statement_sha256, OTA_SHA256_SIZE);
    put32(out + 88, ota_crc32(0, out, 88));
}

static ota_err hdr_read(ota_image *img, const ota_dev *dev, ota_region slot)
{
    uint8_t h[HDR_USED];
    ota_err e = fread_(dev, slot.off, h, sizeof h);
    if (e != OTA_OK)
        return e;
    if (memcmp(h, "OTAP", 4) != 0 || h[4] != HDR_VERSION || get32(h + 88) != ota_crc32(0, h, 88))
        return OTA_ERR_NO_PROGRAM;
    img->seq = get64(h + 8);
    img->size = get32(h + 16);
    memcpy(img->sha256, h + 24, OTA_SHA256_SIZE);
    memcpy(img->statement_sha256, h + 56, OTA_SHA256_SIZE);
    if (img->size == 0 || img->size > ota_slot_capacity(dev, slot))
        return OTA_ERR_NO_PROGRAM;
    return OTA_OK;
}

/* Hash program bytes [0, len) of a slot into ctx. */
static ota_err hash_slot(ota_sha256_ctx *ctx, const ota_dev *dev, ota_region slot, uint32_t len)
{
    uint8_t buf[64];
    uint32_t off = payload_off(slot);
    while (len > 0) {
        uint32_t n = len < sizeof buf ? len : (uint32_t)sizeof buf;
        if (fread_(dev, off, buf, n) != OTA_OK)
            return OTA_ERR_FLASH;
        ota_sha256_update(ctx, buf, n);
        off += n;
        len -= n;
    }
    return OTA_OK;
}

ota_err ota_slot_verify(ota_boot_info *out, const ota_dev *dev, ota_region slot)
{
    ota_err e = OTA_ERR_ARG;
    ota_image img;
    ota_sha256_ctx ctx;
    uint8_t digest[OTA_SHA256_SIZE];
    if (out == NULL || dev == NULL)
        return OTA_ERR_ARG;
    memset(out, 0, sizeof *out);
    if ((e = hdr_read(&img, dev, slot)) != OTA_OK)
        goto out;
    /* complete: every block of the program marked durable */
    uint32_t nb = (img.size + OTA_BLOCK_SIZE - 1) / OTA_BLOCK_SIZE;
    for (uint32_t k = 0; k < nb; k++) {
        int m = marker_set(dev, slot, k);
        if (m != 1) {
            e = m < 0 ? OTA_ERR_FLASH : OTA_ERR_NO_PROGRAM;
            goto out;
        }
    }
    ota_sha256_init(&ctx);
    if ((e = hash_slot(&ctx, dev, slot, img.size)) != OTA_OK)
        goto out;
    ota_sha256_final(&ctx, digest);
    if (ota_ct_memcmp(digest, img.sha256, OTA_SHA256_SIZE) != 0) {
        e = OTA_ERR_HASH_MISMATCH;
        goto out;
    }
    out->seq = img.seq;
    out->off = payload_off(slot);
    out->size = img.size;
    memcpy(out->sha256, img.sha256, OTA_SHA256_SIZE);
    e = OTA_OK;
out:
    return e;
}

/* Verify slot `which` and check it holds release `seq`. */
static ota_err verify_as(ota_boot_info *out, const ota_dev *dev, uint8_t which, uint64_t seq)
{
    ota_err e = ota_slot_verify(out, dev, slot_region(dev, which));
    if (e == OTA_OK && out->seq != seq)
        e = OTA_ERR_NO_PROGRAM;
    out->which = which;
    return e;
}

/* ---- status --------------------------------------------------------------- */

const char *ota_state_name(ota_state s)
{
    switch (s) {
    case OTA_STATE_NONE:        return "none";
    case OTA_STATE_DOWNLOADING: return "downloading";
    case OTA_STATE_DOWNLOADED:  return "downloaded";
    case OTA_STATE_TRIAL:       return "trial";
    case OTA_STATE_CONFIRMED:   return "confirmed";
    case OTA_STATE_ROLLED_BACK: return "rolled_back";
    case OTA_STATE_REJECTED:    return "rejected";
    case OTA_STATE_FAILED:      return "failed";
    }
    return "unknown";
}

ota_err ota_status_read(ota_status *out, const ota_dev *dev)
{
    journal j;
    if (out == NULL || dev == NULL || dev->flash == NULL)
        return OTA_ERR_ARG;
    memset(out, 0, sizeof *out);
    out->active = out->trial = OTA_SLOT_NONE;
    ota_err e = journal_scan(&j, dev);
    if (e != OTA_OK)
        return e;
    const rec *r = &j.newest;
    int complete = 0;
    out->found = (uint8_t)j.found;
    out->active = r->active;
    out->trial = r->trial;
    out->attempts = r->attempts;
    out->active_seq = r->active != OTA_SLOT_NONE ? r->active_seq : 0;
    out->trial_seq = r->trial != OTA_SLOT_NONE ? r->trial_seq : 0;
    out->event_seq = r->event_seq;
    out->record_seq = r->rseq;
    if (r->trial == OTA_SLOT_NONE) {
        /* A newer release in the candidate slot that is not the one that
         * just failed its trial: an install in progress (or just done). */
        ota_region cand = dev->layout.slot[r->active == 0 ? 1 : 0];
        ota_image img;
        uint64_t floor = r->active != OTA_SLOT_NONE ? r->active_seq : 0;
        if (hdr_read(&img, dev, cand) == OTA_OK && img.seq > floor
            && !((r->event == EV_ROLLED_BACK || r->event == EV_FAILED) && img.seq == r->event_seq)) {
            uint32_t nb = (img.size + OTA_BLOCK_SIZE - 1) / OTA_BLOCK_SIZE, k = 0;
            while (k < nb && marker_set(dev, cand, k) == 1)
                k++;
            out->pending_seq = img.seq;
            out->pending_bytes = k == nb ? img.size : k * OTA_BLOCK_SIZE;
            complete = k == nb;
        }
    }
    if (r->trial != OTA_SLOT_NONE)
        out->state = OTA_STATE_TRIAL;
    else if (out->pending_seq != 0)
        out->state = complete ? OTA_STATE_DOWNLOADED : OTA_STATE_DOWNLOADING;
    else if (r->event == EV_ROLLED_BACK)
        out->state = OTA_STATE_ROLLED_BACK;
    else if (r->event == EV_FAILED)
        out->state = OTA_STATE_FAILED;
    else if (r->active != OTA_SLOT_NONE)
        out->state = OTA_STATE_CONFIRMED;
    else
        out->state = OTA_STATE_NONE;
    return OTA_OK;
}

uint64_t ota_running_seq(const ota_status *st)
{
    return st == NULL ? 0 : st->active_seq;
}

/* ---- boot and confirm ----------------------------------------------------- */

ota_err ota_boot(ota_boot_info *out, const ota_dev *dev)
{
    journal j;
    ota_err e = OTA_ERR_ARG, werr = OTA_OK;
    uint8_t reverted = 0;
    if (out == NULL || dev == NULL || dev->flash == NULL)
        return OTA_ERR_ARG;
    memset(out, 0, sizeof *out);
    if ((e = journal_scan(&j, dev)) != OTA_OK)
        return e;
    rec r = j.newest;

    if (r.trial != OTA_SLOT_NONE) {
        if (r.attempts < max_attempts(dev)
            && verify_as(out, dev, r.trial, r.trial_seq) == OTA_OK) {
            /* Count this boot before running it: if the candidate hangs or
             * resets, the count still grows and ends the trial. */
            rec t = r;
            t.attempts++;
            if ((werr = journal_write(dev, &t)) == OTA_OK) {
                out->trial = 1;
                out->attempt = t.attempts;
                return OTA_OK;
            }
            /* The boot could not be counted: never run a trial uncounted;
             * run the confirmed program this time (the trial stays). */
        } else {
            /* Out of attempts, or the candidate no longer verifies: back to
             * the confirmed program, and remember why for the next report.
             * If that write fails the confirmed program still runs now and
             * the next boot reverts again. */
            rec b = r;
            b.event = r.attempts < max_attempts(dev) ? EV_FAILED : EV_ROLLED_BACK;
            b.event_seq = r.trial_seq;
            b.trial = OTA_SLOT_NONE;
            b.trial_seq = 0;
            b.attempts = 0;
            if ((werr = journal_write(dev, &b)) == OTA_OK)
                reverted = 1;
        }
    }

    if (r.active != OTA_SLOT_NONE && verify_as(out, dev, r.active, r.active_seq) == OTA_OK) {
        out->reverted = reverted;
        return OTA_OK;
    }
    if (dev->layout.golden.len != 0 && ota_slot_verify(out, dev, dev->layout.golden) == OTA_OK) {
        out->which = OTA_RUN_GOLDEN;
        out->reverted = reverted;
        return OTA_OK;
    }
    memset(out, 0, sizeof *out);
    /* nothing verifies; a flash failure on the way is the better reason */
    return werr != OTA_OK ? werr : OTA_ERR_NO_PROGRAM;
}

ota_err ota_confirm(const ota_dev *dev, const ota_boot_info *running)
{
    journal j;
    ota_err e;
    if (dev == NULL || dev->flash == NULL || running == NULL)
        return OTA_ERR_ARG;
    if ((e = journal_scan(&j, dev)) != OTA_OK)
        return e;
    rec r = j.newest;
    if (r.trial == OTA_SLOT_NONE)
        return OTA_OK;
    if (!running->trial || running->which != r.trial || running->seq != r.trial_seq)
        return OTA_ERR_STATE;
    r.active = r.trial;
    r.active_seq = r.trial_seq;
    r.trial = OTA_SLOT_NONE;
    r.trial_seq = 0;
    r.attempts = 0;
    r.event = EV_CONFIRMED;
    r.event_seq = r.active_seq;
    return journal_write(dev, &r);
}

/* ---- install --------------------------------------------------------------- */

static ota_region install_slot(const ota_install *in)
{
    ota_region s = { in->slot_off, in->slot_len };
    return s;
}

/* Try to resume a partial install of the same image.  Returns the number
 * of durable bytes, or -1 when the slot must be erased instead. */
static long try_resume(ota_install *in, const ota_dev *dev)
{
    ota_region slot = install_slot(in);
    ota_image have;
    if (hdr_read(&have, dev, slot) != OTA_OK || have.seq != in->img.seq || have.size != in->img.size
        || memcmp(have.sha256, in->img.sha256, OTA_SHA256_SIZE) != 0
        || memcmp(have.statement_sha256, in->img.statement_sha256, OTA_SHA256_SIZE) != 0)
        return -1;
    uint32_t nb = (in->img.size + OTA_BLOCK_SIZE - 1) / OTA_BLOCK_SIZE;
    uint32_t total = slot_blocks(dev, slot);
    uint32_t k = 0;
    for (; k < nb; k++) {
        int m = marker_set(dev, slot, k);
        if (m < 0)
            return -1;
        if (m == 0)
            break;
    }
    /* Everything after the durable prefix must still be erased: program
     * bytes of block k onwards and markers k onwards.  A block written but
     * not yet marked (power cut between the two) fails this, and so do
     * leftovers of a torn erase. */
    if (check_erased(dev, payload_off(slot) + k * OTA_BLOCK_SIZE, (total - k) * OTA_BLOCK_SIZE) != OTA_OK
        || check_erased(dev, marker_off(dev, slot, k), (total - k) * dev->flash->write_align) != OTA_OK)
        return -1;
    uint32_t done = k * OTA_BLOCK_SIZE;
    if (done > in->img.size)
        done = in->img.size;
    if (hash_slot(&in->hash, dev, slot, done) != OTA_OK)
        return -1;
    return (long)done;
}

ota_err ota_install_begin(ota_install *in, const ota_dev *dev, const ota_image *img,
                          unsigned flags, uint32_t *resume_at)
{
    ota_err e = OTA_ERR_ARG;
    ota_status st;
    uint8_t hdr[OTA_SLOT_HDR_SIZE];
    if (resume_at != NULL)
        *resume_at = 0;
    if (in == NULL)
        return OTA_ERR_ARG;
    memset(in, 0, sizeof *in);
    in->err = OTA_ERR_STATE;
    if (dev == NULL || dev->flash == NULL || img == NULL || img->size == 0)
        goto out;

    if (flags & OTA_INSTALL_GOLDEN) {
        in->target = OTA_RUN_GOLDEN;
        if (dev->layout.golden.len == 0)
            goto out;
    } else {
        if ((e = ota_status_read(&st, dev)) != OTA_OK)
            goto out;
        if (st.trial != OTA_SLOT_NONE) {
            e = OTA_ERR_STATE;   /* finish the trial first: never overwrite it */
            goto out;
        }
        in->target = st.active == 0 ? 1 : 0;
    }
    ota_region slot = slot_region(dev, in->target);
    in->slot_off = slot.off;
    in->slot_len = slot.len;
    in->img = *img;
    if (img->size > ota_slot_capacity(dev, slot)) {
        e = OTA_ERR_TOO_BIG;
        goto out;
    }

    ota_sha256_init(&in->hash);
    long done = try_resume(in, dev);
    if (done < 0) {
        ota_sha256_init(&in->hash);
        if ((e = erase_region(dev, slot)) != OTA_OK)
            goto out;
        hdr_encode(hdr, img, dev->flash->erased, in->target == OTA_RUN_GOLDEN ? 1 : 0);
        if ((e = fwrite_(dev, slot.off, hdr, sizeof hdr)) != OTA_OK)
            goto out;
        done = 0;
    }
    in->received = (uint32_t)done;
    in->started = 1;
    if (resume_at != NULL)
        *resume_at = in->received;
    e = OTA_OK;
out:
    in->err = e;
    return e;
}

/* Write the block being filled (possibly partial: the last one), then its
 * marker. */
static ota_err flush_block(ota_install *in, const ota_dev *dev)
{
    ota_region slot = install_slot(in);
    uint32_t k = (in->received - in->used) / OTA_BLOCK_SIZE;
    uint32_t wlen = round_up(in->used, dev->flash->write_align);
    memset(in->buf + in->used, dev->flash->erased, wlen - in->used);
    ota_err e = fwrite_(dev, payload_off(slot) + k * OTA_BLOCK_SIZE, in->buf, wlen);
    if (e == OTA_OK)
        e = marker_write(dev, slot, k);
    in->used = 0;
    return e;
}

ota_err ota_install_write(ota_install *in, const ota_dev *dev, const uint8_t *data, size_t len)
{
    if (in == NULL || dev == NULL || (data == NULL && len > 0))
        return OTA_ERR_ARG;
    if (!in->started)
        return OTA_ERR_STATE;
    if (in->err != OTA_OK)
        return in->err;
    if (len > (size_t)(in->img.size - in->received)) {
        in->err = OTA_ERR_TOO_LONG;
        return in->err;
    }
    while (len > 0) {
        size_t n = OTA_BLOCK_SIZE - in->used;
        if (n > len)
            n = len;
        memcpy(in->buf + in->used, data, n);
        ota_sha256_update(&in->hash, data, n);
        in->used += (uint32_t)n;
        in->received += (uint32_t)n;
        data += n;
        len -= n;
        if (in->used == OTA_BLOCK_SIZE) {
            ota_err e = flush_block(in, dev);
            if (e != OTA_OK) {
                in->err = e;
                return e;
            }
        }
    }
    return OTA_OK;
}

uint32_t ota_install_offset(const ota_install *in)
{
    return in == NULL ? 0 : in->received;
}

void ota_install_digest(const ota_install *in, uint8_t out[OTA_SHA256_SIZE])
{
    ota_sha256_ctx copy = in->hash;
    ota_sha256_final(&copy, out);
}

ota_err ota_install_abort(ota_install *in, const ota_dev *dev)
{
    if (in == NULL || dev == NULL)
        return OTA_ERR_ARG;
    if (!in->started)
        return OTA_ERR_STATE;
    in->started = 0;
    in->err = OTA_ERR_STATE;
    return erase_region(dev, install_slot(in));
}

ota_err ota_install_finish(ota_install *in, const ota_dev *dev, unsigned flags)
{
    ota_err e = OTA_ERR_ARG;
    uint8_t digest[OTA_SHA256_SIZE];
    ota_boot_info chk;
    if (in == NULL || dev == NULL)
        return OTA_ERR_ARG;
    if (!in->started)
        return OTA_ERR_STATE;
    if (in->err != OTA_OK)
        return in->err;
    /* Not an error that ends the install: the caller may write the rest. */
    if (in->received != in->img.size)
        return OTA_ERR_TRUNCATED;

    ota_region slot = install_slot(in);
    if (in->used > 0 && (e = flush_block(in, dev)) != OTA_OK)
        goto out;
    ota_sha256_final(&in->hash, digest);
    if (ota_ct_memcmp(digest, in->img.sha256, OTA_SHA256_SIZE) != 0) {
        /* Bad bytes: wipe the slot so no later resume builds on them. */
        e = erase_region(dev, slot);
        e = e == OTA_OK ? OTA_ERR_HASH_MISMATCH : e;
        goto out;
    }
    /* Read back what the flash holds, not what we meant to write. */
    if (ota_slot_verify(&chk, dev, slot) != OTA_OK || chk.seq != in->img.seq) {
        e = OTA_ERR_INSTALL;
        goto out;
    }
    if (in->target == OTA_RUN_GOLDEN) {
        e = OTA_OK;
        goto out;
    }
    /* The one write that makes the candidate bootable. */
    journal j;
    if ((e = journal_scan(&j, dev)) != OTA_OK)
        goto out;
    rec r = j.newest;
    if (r.trial != OTA_SLOT_NONE || r.active == in->target) {
        e = OTA_ERR_STATE;
        goto out;
    }
    if (flags & OTA_INSTALL_CONFIRMED) {
        r.active = in->target;
        r.active_seq = in->img.seq;
        r.event = EV_CONFIRMED;
        r.event_seq = in->img.seq;
    } else {
        r.trial = in->target;
        r.trial_seq = in->img.seq;
        r.attempts = 0;
        r.event = EV_NONE;
        r.event_seq = 0;
    }
    e = journal_write(dev, &r);
out:
    in->err = e == OTA_OK ? OTA_ERR_STATE : e;  /* an install finishes once */
    in->started = 0;
    return e;
}
