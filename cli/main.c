/*
 * main.c: otasign, the operator's tool: keys, signed releases, offline
 * signing, verification and inspection (formats: manifests/FORMAT.md).
 * Each subcommand lives in cli/cmd_<name>.c; this file only dispatches.
 * Exit codes of every command: 0 ok, 1 failure, 2 usage.
 */
#include <stdio.h>
#include <string.h>
#include <sodium.h>
#include "client.h"
#include "cmd_device.h"
#include "cmd_keyset.h"
#include "delta_enc.h"
#include "jsmin.h"
#include "util.h"

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *summary;
} commands[] = {
    { "keygen",  cmd_keygen,  "create a key pair: NAME.key (secret) and NAME.pub" },
    { "release", cmd_release, "minify, hash and sign a script into a release directory" },
    { "sign",    cmd_sign,    "sign an unsigned statement (offline machine)" },
    { "attach",  cmd_attach,  "join an unsigned statement and its signature" },
    { "verify",  cmd_verify,  "verify a release (statement, bundle, ticket) like a device does" },
    { "inspect", cmd_inspect, "print every field of a statement, ticket or key file" },
    { "minify",  cmd_minify,  "minify and gate a script for Espruino" },
    { "delta",   cmd_delta,   "make (or apply) the delta from one program to the next (FORMAT.md 2b)" },
    { "device",  cmd_device,  "register a device with otad and write its provisioning script" },
    { "keyset",  cmd_keyset,  "make, sign, attach, verify key sets (which release keys devices trust)" },
    { "nudge",   cmd_nudge,   "UDP nudge: boards on the LAN poll now (carries no authority)" },
    { "publish", cmd_publish, "upload a release to otad" },
    { "rollout", cmd_rollout, "start, change, pause, resume or abort a staged rollout" },
    { "status",  cmd_status,  "a rollout's progress per wave (--watch to follow it)" },
    { "devices", cmd_devices, "devices by state with reasons; one device's history" },
};

static void usage(FILE *f)
{
    fprintf(f, "usage: otasign COMMAND [ARGS]   (otasign COMMAND --help for details)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nexit status: 0 ok, 1 failure, 2 usage error\n");
}

#ifndef OTA_VERSION
#define OTA_VERSION "unknown"
#endif

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("otasign %s (format version %d)\n", OTA_VERSION, OTA_FORMAT_VERSION);
        return EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[1], commands[i].name) != 0) continue;
        util_cmd = commands[i].name;
        if (sodium_init() < 0) {
            util_err("cannot initialise libsodium");
            return EXIT_FAIL;
        }
        return commands[i].fn(argc - 1, argv + 1);
    }
    fprintf(stderr, "otasign: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return EXIT_USAGE;
}
