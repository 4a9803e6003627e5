/*
 * cmd_keyset.h: `otasign keyset ...` (cli/cmd_keyset.c) and the two entry
 * points other commands use for key-set files: `otasign verify FILE.ks`
 * and `otasign inspect FILE.ks`.
 */
#ifndef OTASIGN_CMD_KEYSET_H
#define OTASIGN_CMD_KEYSET_H

#include <stddef.h>
#include <stdint.h>

int cmd_keyset(int argc, char **argv);
/* `otasign keyset verify` (argv[0] is the command name, as for every cmd_). */
int cmd_keyset_verify(int argc, char **argv);
/* Print every field of a key set or its bare body; EXIT_OK or EXIT_FAIL. */
int keyset_show(const char *path, const uint8_t *b, size_t len);
/* 1 when some non-option argument names a readable file starting with OTKS. */
int keyset_arg_is_keyset(int argc, char **argv);

#endif
