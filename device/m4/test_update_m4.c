/*
 * test_update_m4.c: the update state machine as compiled for a device
 * (arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -Os), run bare-metal on qemu
 * (mps2-an386) by device/test-m4.sh.  A flash in RAM with a power cut at
 * every write/erase of an install and of a revert (three tear modes each);
 * after each cut a reboot must run the old or the new program byte for
 * byte, and carrying on must end in the state the rules say.  No heap, no
 * stdio: output through semihosting (tests/bench/m4/startup.c).
 */
#include <stdint.h>
#include <string.h>
#include "ota_update.h"

void sh_puts(const char *s);

#define NPAGES 5
/* boot copies of 4 records each, so the journal rotates during the runs */
static const uint32_t page_len[NPAGES] = { 256, 256, 4096, 8192, 2048 };
#define FLASH_SIZE (256 * 2 + 4096 + 8192 + 2048)
#define ALIGN 8

static uint8_t mem[FLASH_SIZE], snap[FLASH_SIZE];
static uint8_t prog_old[2900], prog_new[3500], gold[900];
static long ops, cut_at = -1, violations;
static int tear, dead;
static unsigned long passed, failed;

static uint32_t page_start(int i)
{
    uint32_t o = 0;
    for (int k = 0; k < i; k++)
        o += page_len[k];
    return o;
}

static int cut_now(void)
{
    long n = ops++;
    if (cut_at >= 0 && n == cut_at) {
        dead = 1;
        return 1;
    }
    return 0;
}

static ota_err f_read(void *ctx, uint32_t off, uint8_t *buf, size_t len)
{
    (void)ctx;
    if (dead || off > FLASH_SIZE || len > FLASH_SIZE - off)
        return OTA_ERR_FLASH;
    memcpy(buf, mem + off, len);
    return OTA_OK;
}

static ota_err f_write(void *ctx, uint32_t off, const uint8_t *data, size_t len)
{
    (void)ctx;
    if (dead || off > FLASH_SIZE || len > FLASH_SIZE - off || off % ALIGN || len % ALIGN)
        return OTA_ERR_FLASH;
    for (size_t i = 0; i < len; i++)
        if (mem[off + i] != 0xFF)
            violations++;
    int torn = cut_now();
    size_t n = torn ? (tear == 0 ? 0 : len / 2) : len;
    for (size_t i = 0; i < n; i++)
        mem[off + i] &= data[i];
    if (torn && tear == 2 && n < len)
        mem[off + n] = 0x5A;
    return torn ? OTA_ERR_FLASH : OTA_OK;
}

static uint32_t f_page_size(void *ctx, uint32_t off)
{
    (void)ctx;
    for (int i = 0; i < NPAGES; i++)
        if (page_start(i) == off)
            return page_len[i];
    return 0;
}

static ota_err f_erase(void *ctx, uint32_t off)
{
    uint32_t len = f_page_size(ctx, off);
    if (dead || len == 0)
        return OTA_ERR_FLASH;
    int torn = cut_now();
    uint32_t n = torn ? (tear == 0 ? 0 : len / 2) : len;
    memset(mem + off, 0xFF, n);
    if (torn && tear == 2 && n < len)
        mem[off + n] = 0xA5;
    return torn ? OTA_ERR_FLASH : OTA_OK;
}

static const ota_flash port = { 0, f_read, f_write, f_erase, f_page_size, ALIGN, 0xFF };
static ota_dev dev;

static void put_num(unsigned long v)
{
    char b[24];
    int i = 23;
    b[i] = 0;
    do {
        b[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    sh_puts(b + i);
}

static void check(int cond, const char *what, long n)
{
    if (cond) {
        passed++;
        return;
    }
    failed++;
    sh_puts("FAIL ");
    sh_puts(what);
    sh_puts(" at op ");
    put_num((unsigned long)n);
    sh_puts("\n");
}

static void fill(uint8_t *p, uint32_t n, uint32_t seed)
{
    for (uint32_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (uint8_t)(seed >> 16);
    }
}

static ota_err install(const uint8_t *p, uint32_t n, uint64_t seq, unsigned bflags, unsigned fflags)
{
    static ota_install in;       /* 472 bytes: static, as firmware would */
    ota_image img;
    uint32_t at = 0;
    memset(&img, 0, sizeof img);
    img.seq = seq;
    img.size = n;
    ota_sha256(img.sha256, p, n);
    ota_err e = ota_install_begin(&in, &dev, &img, bflags, &at);
    while (e == OTA_OK && at < n) {
        uint32_t k = n - at < 97 ? n - at : 97;
        e = ota_install_write(&in, &dev, p + at, k);
        at += k;
    }
    return e == OTA_OK ? ota_install_finish(&in, &dev, fflags) : e;
}

static int runs(const ota_boot_info *bi, const uint8_t *p, uint32_t n)
{
    return bi->size == n && bi->off + n <= FLASH_SIZE && memcmp(mem + bi->off, p, n) == 0;
}

static void power_on(void)
{
    dead = 0;
    cut_at = -1;
}

/* scenario 0: install v2 over v1; scenario 1: revert of a failing v2 */
static ota_err run(int sc)
{
    ota_boot_info bi;
    ota_err e = OTA_OK;
    if (sc == 0)
        return install(prog_new, sizeof prog_new, 2, 0, 0);
    for (int i = 0; i < 4 && e == OTA_OK; i++)
        e = ota_boot(&bi, &dev);
    return e;
}

static void recover(int sc, long n)
{
    ota_boot_info bi;
    ota_status st;
    check(ota_boot(&bi, &dev) == OTA_OK, "boot after cut", n);
    check((bi.seq == 1 && runs(&bi, prog_old, sizeof prog_old))
          || (bi.seq == 2 && runs(&bi, prog_new, sizeof prog_new)), "old or new program", n);
    if (sc == 0) {
        if (!bi.trial) {
            check(install(prog_new, sizeof prog_new, 2, 0, 0) == OTA_OK, "resume install", n);
            check(ota_boot(&bi, &dev) == OTA_OK && bi.trial, "trial boot", n);
        }
        check(ota_confirm(&dev, &bi) == OTA_OK, "confirm", n);
        check(ota_status_read(&st, &dev) == OTA_OK && st.state == OTA_STATE_CONFIRMED
              && st.active_seq == 2, "v2 confirmed", n);
    } else {
        for (int i = 0; i < 6 && bi.trial; i++)
            check(ota_boot(&bi, &dev) == OTA_OK, "boot", n);
        check(!bi.trial && runs(&bi, prog_old, sizeof prog_old), "back on v1", n);
        check(ota_status_read(&st, &dev) == OTA_OK && st.state == OTA_STATE_ROLLED_BACK
              && st.event_seq == 2, "rolled back", n);
    }
    check(violations == 0, "no write over non-erased bytes", n);
}

int main(void)
{
    ota_boot_info bi;
    unsigned long points = 0;
    dev.flash = &port;
    ota_region r[NPAGES];
    for (int i = 0; i < NPAGES; i++) {
        r[i].off = page_start(i);
        r[i].len = page_len[i];
    }
    dev.layout.boot[0] = r[0];
    dev.layout.boot[1] = r[1];
    dev.layout.slot[0] = r[2];
    dev.layout.slot[1] = r[3];
    dev.layout.golden = r[4];
    dev.max_attempts = 3;
    check(ota_dev_check(&dev) == OTA_OK, "layout", 0);
    check(ota_crc32(0, (const uint8_t *)"123456789", 9) == 0xCBF43926u, "crc32", 0);
    memset(mem, 0xFF, sizeof mem);
    fill(gold, sizeof gold, 7);
    fill(prog_old, sizeof prog_old, 1);
    fill(prog_new, sizeof prog_new, 2);
    check(install(gold, sizeof gold, 0, OTA_INSTALL_GOLDEN, 0) == OTA_OK, "golden", 0);
    check(install(prog_old, sizeof prog_old, 1, 0, OTA_INSTALL_CONFIRMED) == OTA_OK, "v1", 0);
    check(ota_boot(&bi, &dev) == OTA_OK && runs(&bi, prog_old, sizeof prog_old), "boot v1", 0);

    for (int sc = 0; sc < 2; sc++) {
        if (sc == 1)   /* start the revert with v2 installed, on trial */
            check(install(prog_new, sizeof prog_new, 2, 0, 0) == OTA_OK, "v2 for revert", 0);
        memcpy(snap, mem, sizeof mem);
        ops = 0;
        check(run(sc) == OTA_OK, "uninterrupted run", 0);
        long total = ops;
        for (long n = 0; n < total; n++) {
            for (tear = 0; tear < 3; tear++) {
                memcpy(mem, snap, sizeof mem);
                power_on();
                ops = 0;
                violations = 0;
                cut_at = n;
                (void)run(sc);
                check(dead, "cut happened", n);
                power_on();
                recover(sc, n);
            }
            points++;
        }
        memcpy(mem, snap, sizeof mem);
        power_on();
    }
    sh_puts("power-cut points on cortex-m4: ");
    put_num(points);
    sh_puts(" (x3 tear modes)\ntest_update_m4: ");
    put_num(passed);
    sh_puts(" passed, ");
    put_num(failed);
    sh_puts(" failed\n");
    return failed ? 1 : 0;
}
