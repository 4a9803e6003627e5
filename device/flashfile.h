/*
 * flashfile.h: emulated NOR flash kept in a file, for otadev.  The file is
 * the flash image, modified in place as a real flash is (no temp file and
 * rename: an interrupted write must look like an interrupted flash write).
 * Its geometry is stored beside it in FILE.geom at creation.
 *
 * Geometries (see device/README.md / PORTING.md):
 *   pico                 the Espruino Pico: three 16 KB Storage pages, the
 *                        128 KB extra page, and a 16 KB golden page that on
 *                        the board lives in the firmware image (read-only)
 *   uniform:PAGE:COUNT   COUNT pages of PAGE bytes
 * optionally followed by ",align=N" and ",erased=0" (default 4 and 0xFF).
 */
#ifndef OTADEV_FLASHFILE_H
#define OTADEV_FLASHFILE_H

#include <stdint.h>
#include "ota_update.h"

#define FF_MAX_PAGES 256

typedef struct flashfile {
    int fd;                          /* the image file */
    uint32_t size;                   /* bytes */
    uint32_t page_off[FF_MAX_PAGES + 1]; /* page starts, then the end */
    int npages;
    ota_flash port;                  /* what ota_dev points at */
    ota_layout layout;               /* regions over the pages */
    long ops;                        /* writes + erases done by this process */
    long cut_at;                     /* power cut at this op (1-based); 0: never */
    char spec[128];                  /* the geometry string */
} flashfile;

/* Parse a geometry string into ff (pages, alignment, erased value, layout).
 * 0 on success, -1 with a message in err. */
int ff_geometry(flashfile *ff, const char *spec, char *err, size_t errcap);

/* Create FILE (erased) and FILE.geom for the geometry; refuses to replace
 * an existing file unless force.  0 / -1 (message in err). */
int ff_create(const char *path, const char *spec, int force, char *err, size_t errcap);

/* Open FILE with the geometry in FILE.geom.  0 / -1. */
int ff_open(flashfile *ff, const char *path, char *err, size_t errcap);

void ff_close(flashfile *ff);

#endif
