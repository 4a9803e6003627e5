/*
 * keyset.h: otad's current key set (manifests/FORMAT.md section 13) and the
 * release keys it trusts, reloadable while running.
 *
 *   options   --keyset FILE, --root-pub FILE (repeatable), --root-threshold K
 *   load      srv_keyset_init at start, srv_keyset_reload on SIGHUP
 *   trust     srv_keyset_verify_statement (uploads), srv_keyset_offerable (offers)
 *   delivery  srv_keyset_b64_if_newer (the manifest's "keyset" member)
 *   admin     GET/POST /admin/keysets
 *
 * Which release keys otad trusts: the keys of its current key set when it has
 * one, else the --release-pub keys (re-read on SIGHUP) - the rule devices
 * follow.  A release whose key is not trusted NOW is never offered (nor
 * MAC'd for the stock-firmware tier), whatever the database holds.
 */
#ifndef SRV_KEYSET_H
#define SRV_KEYSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "otad.h"

/* Command-line options of this module.  argv[i] is the option; returns how
 * many arguments it consumed (2), 0 when it is not ours, -1 after printing a
 * usage error. */
int  srv_keyset_option(int argc, char **argv, int i);
/* Usage lines for --help. */
void srv_keyset_usage(FILE *f);
/* True when --keyset was given (then --release-pub is optional). */
bool srv_keyset_configured(void);

/* Load roots, --release-pub keys and the key set (the newer of --keyset FILE
 * and DIR/keyset.ks; the set in force is always kept in DIR/keyset.ks, so a
 * restart never goes back to an older one).  Returns 0, or -1 after printing
 * why (a key set that does not verify stops the start). */
int  srv_keyset_init(void);
/* SIGHUP: re-read all of it.  Anything that fails to load or verify, or a
 * key set older than the one in force, leaves the current state unchanged
 * (logged).  Returns 0 when the new state is in force. */
int  srv_keyset_reload(void);

/* ota_statement_verify against the release keys trusted now. */
ota_err srv_keyset_verify_statement(ota_statement *st, const uint8_t *stmt, size_t len);
/* May a release signed by this key id be offered now? */
bool srv_keyset_offerable(const uint8_t key_id[OTA_KEY_ID_SIZE]);
/* Version of the key set in force (0: none). */
uint64_t srv_keyset_version(void);
/* When a key set is in force and its version is above dev_ks, copy its
 * base64 (NUL-terminated) into out and return its length; else 0. */
size_t srv_keyset_b64_if_newer(char *out, size_t cap, uint64_t dev_ks);
#define SRV_KEYSET_B64_MAX 1248      /* base64 of OTA_KEYSET_MAX_SIZE, + NUL */

/* 200 {"keyset": b64, "poll": N}: the answer to a device whose key set is
 * older when there is no release to offer it (FORMAT.md 13.4). */
enum MHD_Result srv_keyset_reply_alone(srv_req *q, const char *b64);

/* GET /admin/keysets: the key set in force; POST {"keyset": base64}:
 * publish a newer one (verified with the roots, stored as DIR/keyset.ks,
 * in force at once). */
enum MHD_Result srv_keyset_admin(srv_req *q);

#endif
