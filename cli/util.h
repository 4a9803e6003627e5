/*
 * util.h: helpers shared by the otasign subcommands: argument parsing,
 * whole-file reads, atomic writes (temp + fsync + rename), key files,
 * passphrases, hex output and the error-name table.
 *
 * Conventions: functions returning int give 0 on success and -1 on failure
 * after printing one line "otasign CMD: FILE: what failed" to stderr
 * (the command name comes from util_cmd, set by main).
 */
#ifndef OTASIGN_UTIL_H
#define OTASIGN_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sodium.h>
#include "ota_err.h"
#include "ota_release.h"

/* Exit codes of every command. */
#define EXIT_OK    0
#define EXIT_FAIL  1
#define EXIT_USAGE 2

/* Name of the running subcommand, for messages ("release"). */
extern const char *util_cmd;

/* Print "otasign CMD: " + formatted text + "\n" to stderr. */
void util_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- arguments ------------------------------------------------------------ */

/* One option of a command.  kind: OPT_FLAG sets *(int *)dst = 1;
 * OPT_STR sets *(const char **)dst; OPT_MULTI appends to a
 * (const char **) array of capacity OPT_MULTI_MAX, count in *count. */
enum { OPT_FLAG, OPT_STR, OPT_MULTI };
#define OPT_MULTI_MAX 8
typedef struct util_opt {
    const char *name;    /* "--key" */
    int kind;
    void *dst;
    int *count;          /* OPT_MULTI only */
} util_opt;

/* Parse argv[1..argc) (argv[0] is the subcommand).  "--opt value" and
 * "--opt=value" both work; "--" ends options.  Positional arguments go to
 * pos (capacity pos_cap), their number to *npos.  "--help"/"-h" set *help.
 * Returns 0, or -1 after printing a usage error. */
int util_parse_args(int argc, char **argv, const util_opt *opts, size_t nopts,
                    const char **pos, int pos_cap, int *npos, int *help);

/* Parse a decimal u64 (no sign, no spaces, no overflow).  0 ok, -1 bad. */
int util_parse_u64(const char *s, uint64_t *out);

/* ---- files ---------------------------------------------------------------- */

/* Read a whole file (at most max bytes) into a malloc'd buffer (+1 byte, NUL
 * terminated for text use).  Prints the error naming the file. */
int util_read_file(const char *path, size_t max, uint8_t **out, size_t *len);

/* Write len bytes to path atomically: path.tmp-PID (O_EXCL, mode), write,
 * fsync, then rename over path (or link(2) when !overwrite, so an existing
 * file is never replaced: EEXIST is reported), then fsync the directory.
 * Test hook: OTASIGN_TEST_CRASH=before-rename exits the process (status 99)
 * after the temp file is complete and before the rename. */
/* Write an output the user named: "-" or NULL is stdout; an existing device
 * or pipe (/dev/null, a FIFO) is written in place; anything else goes through
 * util_write_atomic (overwriting).  0 ok, -1 with the error printed. */
int util_write_output(const char *path, const void *data, size_t len, int mode);

int util_write_atomic(const char *path, const void *data, size_t len, int mode, int overwrite);

/* Create and write a file inside a directory being built (no rename):
 * O_CREAT|O_EXCL, write, fsync. */
int util_write_new(const char *path, const void *data, size_t len, int mode);

/* fsync a directory. */
int util_fsync_dir(const char *dir);

/* 1 when path exists (any type), 0 when not. */
int util_exists(const char *path);
/* 1 when path is a directory. */
int util_is_dir(const char *path);

/* ---- keys ------------------------------------------------------------------- */

#define KEYFILE_SIZE 152
#define KEYFILE_KDF_NONE 0
#define KEYFILE_KDF_ARGON2 1

typedef struct util_secret_key {
    uint8_t sk[crypto_sign_SECRETKEYBYTES];   /* libsodium secret key (seed || pub) */
    uint8_t pub[crypto_sign_PUBLICKEYBYTES];
    uint8_t id[OTA_KEY_ID_SIZE];
} util_secret_key;

/* Load NAME.key (FORMAT.md section 7), asking for the passphrase when the
 * file is encrypted (passfile, else OTASIGN_PASSPHRASE, else the tty).
 * Wipe the result with sodium_memzero when done. */
int util_load_secret_key(util_secret_key *k, const char *path, const char *passfile);

/* Serialize a key pair into the 152-byte file image; when pass is non-NULL
 * encrypt the seed under it (argon2id + secretbox). */
int util_encode_secret_key(uint8_t out[KEYFILE_SIZE], const util_secret_key *k,
                           const char *pass, size_t pass_len);

/* Load NAME.pub (64 hex characters, optional trailing whitespace) into a
 * trusted key (id computed).  A .key file is accepted too (its public part
 * is read; no passphrase needed). */
int util_load_pub(ota_trusted_key *k, const char *path);

/* Passphrase for a command: from passfile (first line), else env
 * OTASIGN_PASSPHRASE, else the terminal (asked twice when confirm).
 * Returns 0 and a malloc'd (sodium_malloc'd) string, 1 when none is
 * available (no tty), -1 on error. */
int util_get_passphrase(char **out, const char *passfile, int confirm, const char *prompt);
void util_free_passphrase(char *p);

/* ---- text ----------------------------------------------------------------- */

/* Lower-case hex of len bytes into a static-free caller buffer (cap >= 2*len+1). */
void util_hex(char *out, const uint8_t *in, size_t len);

/* "OTA_ERR_WRONG_APP" for an ota_err value; "OTA_OK" for 0. */
const char *util_err_name(ota_err e);
/* Inverse of util_err_name; -1 when unknown. */
int util_err_from_name(const char *name);

/* Write s[0..len) as a JSON string literal (quotes included) to f. */
#include <stdio.h>
void util_json_str(FILE *f, const char *s, size_t len);

/* Default signature path of an unsigned statement: X.tbs -> X.sig, else
 * X.sig appended (malloc'd). */
char *util_sig_path(const char *tbs);

/* Join dir and name into a malloc'd path. */
char *util_path(const char *dir, const char *name);

/* Subcommands. */
int cmd_keygen(int argc, char **argv);
int cmd_release(int argc, char **argv);
int cmd_sign(int argc, char **argv);
int cmd_attach(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_inspect(int argc, char **argv);

#endif
