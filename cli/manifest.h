/*
 * manifest.h: the JSON manifest of GET /manifest/<id> as `otasign verify
 * --manifest` reads it (FORMAT.md section 6).
 */
#ifndef OTASIGN_MANIFEST_H
#define OTASIGN_MANIFEST_H

#include "util.h"

typedef struct manifest_bin {
    uint8_t statement[OTA_STATEMENT_SIZE];   /* decoded `statement` */
    size_t statement_len;
    uint8_t ticket[OTA_TICKET_SIZE];         /* decoded `ticket` */
    size_t ticket_len;
    uint8_t mac[OTA_MAC_SIZE];               /* decoded `mac`, when has_mac */
    int has_mac;
    char device[OTA_DEVICE_ID_MAX + 1];      /* `device` ("" when absent) */
    char nonce_hex[2 * OTA_NONCE_MAX + 1];   /* `nonce` ("" when absent) */
} manifest_bin;

/* Read and decode the manifest at path, and check that every readable member
 * present (app, board, seq, label, created, key_id, encoding, size,
 * installed_size, sha256, installed_sha256, source_sha256, device, nonce,
 * issued, url) agrees with the statement and ticket bytes, and that the
 * required members are there.  Signatures are NOT checked here.  0, or -1
 * after printing what disagrees. */
int manifest_load(manifest_bin *m, const char *path);

#endif
