/* flashfile.c: file-backed emulated flash for otadev (see flashfile.h). */
#include "flashfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Power is cut: the torn operation has been half done; stop dead, as a
 * board would.  Exit status 3 tells scripts it was a power cut. */
static void power_cut(flashfile *ff, const char *what, uint32_t off)
{
    fprintf(stderr, "otadev: power cut at flash operation %ld (%s at 0x%x)\n", ff->ops, what, (unsigned)off);
    _exit(3);
}

static ota_err ff_read(void *ctx, uint32_t off, uint8_t *buf, size_t len)
{
    flashfile *ff = ctx;
    if (off > ff->size || len > ff->size - off)
        return OTA_ERR_FLASH;
    ssize_t n = pread(ff->fd, buf, len, off);
    return n == (ssize_t)len ? OTA_OK : OTA_ERR_FLASH;
}

static ota_err ff_write(void *ctx, uint32_t off, const uint8_t *data, size_t len)
{
    flashfile *ff = ctx;
    if (off > ff->size || len > ff->size - off || off % ff->port.write_align || len % ff->port.write_align)
        return OTA_ERR_FLASH;
    ff->ops++;
    int cut = ff->cut_at > 0 && ff->ops == ff->cut_at;
    size_t n = cut ? len / 2 : len;
    if (n > 0 && pwrite(ff->fd, data, n, off) != (ssize_t)n)
        return OTA_ERR_FLASH;
    if (cut)
        power_cut(ff, "write", off);
    return OTA_OK;
}

static int page_index(const flashfile *ff, uint32_t off)
{
    int lo = 0, hi = ff->npages - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (ff->page_off[mid] == off)
            return mid;
        if (ff->page_off[mid] < off)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

static ota_err ff_erase(void *ctx, uint32_t off)
{
    flashfile *ff = ctx;
    int p = page_index(ff, off);
    if (p < 0)
        return OTA_ERR_FLASH;
    uint32_t len = ff->page_off[p + 1] - off;
    uint8_t *buf = malloc(len);
    if (!buf)
        return OTA_ERR_FLASH;
    memset(buf, ff->port.erased, len);
    ff->ops++;
    int cut = ff->cut_at > 0 && ff->ops == ff->cut_at;
    uint32_t n = cut ? len / 2 : len;
    ssize_t w = n ? pwrite(ff->fd, buf, n, off) : 0;
    free(buf);
    if (w != (ssize_t)n)
        return OTA_ERR_FLASH;
    if (cut)
        power_cut(ff, "erase", off);
    return OTA_OK;
}

static uint32_t ff_page_size(void *ctx, uint32_t off)
{
    flashfile *ff = ctx;
    int p = page_index(ff, off);
    return p < 0 ? 0 : ff->page_off[p + 1] - off;
}

static void set_region(ota_region *r, const flashfile *ff, int first, int last)
{
    r->off = ff->page_off[first];
    r->len = ff->page_off[last] - ff->page_off[first];
}

int ff_geometry(flashfile *ff, const char *spec, char *err, size_t errcap)
{
    uint32_t pages[FF_MAX_PAGES];
    int np = 0, ai = 0;
    int lay[5][2];
    unsigned align = 4, erased = 0xFF;
    char base[128];
    if (strlen(spec) >= sizeof base) {
        snprintf(err, errcap, "geometry too long");
        return -1;
    }
    snprintf(base, sizeof base, "%s", spec);
    char *opts = strchr(base, ',');
    if (opts)
        *opts++ = 0;
    while (opts && *opts) {
        char *next = strchr(opts, ',');
        if (next)
            *next++ = 0;
        if (sscanf(opts, "align=%u", &align) == 1) {
        } else if (sscanf(opts, "erased=%u", &erased) == 1 && erased <= 255) {
        } else {
            snprintf(err, errcap, "geometry option '%s': expected align=N or erased=0|255", opts);
            return -1;
        }
        opts = next;
    }
    if (strcmp(base, "pico") == 0) {
        /* Storage: 3 x 16 KB + the 128 KB page; golden: 16 KB in firmware */
        uint32_t p[] = { 16384, 16384, 16384, 131072, 16384 };
        for (np = 0; np < 5; np++)
            pages[np] = p[np];
        int l[5][2] = { {0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 5} };
        memcpy(lay, l, sizeof lay);
    } else {
        unsigned ps, count;
        char extra;
        if (sscanf(base, "uniform:%u:%u%c", &ps, &count, &extra) != 2 || ps < 256 || ps > (1u << 20)
            || (ps & (ps - 1)) || count < 5 || count > FF_MAX_PAGES) {
            snprintf(err, errcap, "geometry '%s': expected pico or uniform:PAGE:COUNT "
                     "(PAGE a power of two 256..1M, COUNT 5..%d)", spec, FF_MAX_PAGES);
            return -1;
        }
        for (np = 0; np < (int)count; np++)
            pages[np] = ps;
        int g = (int)(count - 2) / 5 > 0 ? (int)(count - 2) / 5 : 1;
        int r = ((int)count - 2 - g) / 2;
        int l[5][2] = { {0, 1}, {1, 2}, {2 + g, 2 + g + r}, {2 + g + r, 2 + g + 2 * r}, {2, 2 + g} };
        memcpy(lay, l, sizeof lay);
    }
    memset(ff, 0, sizeof *ff);
    ff->fd = -1;
    uint32_t off = 0;
    for (ai = 0; ai < np; ai++) {
        ff->page_off[ai] = off;
        off += pages[ai];
    }
    ff->page_off[np] = off;
    ff->npages = np;
    ff->size = off;
    ff->port.ctx = ff;
    ff->port.read = ff_read;
    ff->port.write = ff_write;
    ff->port.erase = ff_erase;
    ff->port.page_size = ff_page_size;
    ff->port.write_align = align;
    ff->port.erased = (uint8_t)erased;
    set_region(&ff->layout.boot[0], ff, lay[0][0], lay[0][1]);
    set_region(&ff->layout.boot[1], ff, lay[1][0], lay[1][1]);
    set_region(&ff->layout.slot[0], ff, lay[2][0], lay[2][1]);
    set_region(&ff->layout.slot[1], ff, lay[3][0], lay[3][1]);
    set_region(&ff->layout.golden, ff, lay[4][0], lay[4][1]);
    snprintf(ff->spec, sizeof ff->spec, "%s", spec);
    ota_dev d = { &ff->port, ff->layout, 0 };
    if (ota_dev_check(&d) != OTA_OK) {
        snprintf(err, errcap, "geometry '%s': layout rejected (%s)", spec, ota_strerror(ota_dev_check(&d)));
        return -1;
    }
    return 0;
}

/* Write a small file atomically: temp name, fsync, rename. */
static int write_atomic(const char *path, const void *data, size_t len)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return -1;
    int ok = write(fd, data, len) == (ssize_t)len && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

int ff_create(const char *path, const char *spec, int force, char *err, size_t errcap)
{
    flashfile ff;
    char gpath[4200];
    if (ff_geometry(&ff, spec, err, errcap) != 0)
        return -1;
    if (!force && access(path, F_OK) == 0) {
        snprintf(err, errcap, "%s exists (use --force to replace it)", path);
        return -1;
    }
    uint8_t *img = malloc(ff.size);
    if (!img) {
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    memset(img, ff.port.erased, ff.size);
    int rc = write_atomic(path, img, ff.size);
    free(img);
    snprintf(gpath, sizeof gpath, "%s.geom", path);
    char line[160];
    int n = snprintf(line, sizeof line, "%s\n", spec);
    if (rc != 0 || write_atomic(gpath, line, (size_t)n) != 0) {
        snprintf(err, errcap, "%s: cannot write: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

int ff_open(flashfile *ff, const char *path, char *err, size_t errcap)
{
    char gpath[4200], spec[160] = "";
    snprintf(gpath, sizeof gpath, "%s.geom", path);
    FILE *g = fopen(gpath, "r");
    if (!g || !fgets(spec, sizeof spec, g)) {
        if (g)
            fclose(g);
        snprintf(err, errcap, "%s: cannot read the geometry (make the flash with `otadev provision`)", gpath);
        return -1;
    }
    fclose(g);
    spec[strcspn(spec, "\r\n")] = 0;
    if (ff_geometry(ff, spec, err, errcap) != 0)
        return -1;
    ff->fd = open(path, O_RDWR);
    struct stat sb;
    if (ff->fd < 0 || fstat(ff->fd, &sb) != 0 || (uint64_t)sb.st_size != ff->size) {
        snprintf(err, errcap, "%s: cannot open, or its size is not the geometry's %u bytes", path,
                 (unsigned)ff->size);
        if (ff->fd >= 0)
            close(ff->fd);
        ff->fd = -1;
        return -1;
    }
    return 0;
}

void ff_close(flashfile *ff)
{
    if (ff->fd >= 0)
        close(ff->fd);
    ff->fd = -1;
}
