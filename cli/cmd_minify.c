/*
 * cmd_minify.c: `otasign minify IN [-o OUT] [--no-mangle] [--target V]
 *                [--gate | --gate-warn] [--pretokenise]`
 *
 * Minifies one script (cli/jsmin.h).  By default the release gate is OFF
 * here, so any npm script can be minified: `--gate` applies it as in
 * `otasign release` (syntax the target firmware lacks is an error, exit 1),
 * `--gate-warn` reports the same findings as warnings only.
 * IN may be "-" (stdin).  OUT defaults to stdout ("-o -" too); a file OUT is
 * written atomically (temp file, fsync, rename).  Exit: 0 ok, 1 failure
 * (syntax error, gate error, I/O), 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "jsmin.h"
#include "util.h"

static void help(FILE *f)
{
    fprintf(f,
        "usage: otasign minify IN [-o OUT] [--no-mangle] [--target V] [--gate | --gate-warn]\n"
        "                      [--pretokenise]\n"
        "\n"
        "Minify a JavaScript file for Espruino: comments and white space go, every\n"
        "literal keeps its exact bytes, a newline stays wherever a semicolon would be\n"
        "inserted, and local names are shortened.\n"
        "\n"
        "  IN              input script, or - for stdin\n"
        "  -o OUT          output file (written atomically), - for stdout (default)\n"
        "  --no-mangle     keep local names (white space and comments only)\n"
        "  --no-minify     output the input unchanged (useful with --gate)\n"
        "  --target V      Espruino firmware for the gate, e.g. 2v29 (default), 2v14\n"
        "  --gate          reject syntax the target cannot run (as otasign release does)\n"
        "  --gate-warn     report the gate's findings as warnings only\n"
        "  --pretokenise   write Espruino's pretokenised encoding (binary: reserved words and\n"
        "                  operators as token bytes, strings/integers raw where shorter);\n"
        "                  only for --target 2v29, whose token ids otasign was checked against\n"
        "\n"
        "exit status: 0 ok, 1 syntax/gate/I-O error (file:line:col on stderr), 2 usage\n");
}

/* Whole file (or stdin) into a malloc'd buffer.  0 ok, -1 after a message. */
static int read_all(const char *path, uint8_t **out, size_t *len)
{
    int fd = strcmp(path, "-") == 0 ? 0 : open(path, O_RDONLY | O_CLOEXEC);
    uint8_t *buf = NULL;
    size_t cap = 1 << 16, n = 0;
    struct stat sb;
    *out = NULL;
    *len = 0;
    if (fd < 0) { util_err("%s: cannot open: %s", path, strerror(errno)); return -1; }
    if (fstat(fd, &sb) == 0) {
        if (S_ISDIR(sb.st_mode)) { util_err("%s: is a directory", path); goto fail; }
        if (S_ISREG(sb.st_mode) && sb.st_size >= 0) cap = (size_t)sb.st_size + 1;
    }
    buf = malloc(cap);
    if (!buf) { util_err("%s: out of memory", path); goto fail; }
    jsmin_huge(buf, cap);
    for (;;) {
        if (n == cap) {
            if (cap > ((size_t)1 << 31)) { util_err("%s: file too large", path); goto fail; }
            uint8_t *nb = realloc(buf, cap * 2);
            if (!nb) { util_err("%s: out of memory", path); goto fail; }
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0) {
            if (errno == EINTR) continue;
            util_err("%s: cannot read: %s", path, strerror(errno));
            goto fail;
        }
        if (r == 0) break;
        n += (size_t)r;
    }
    if (fd > 0) close(fd);
    *out = buf;
    *len = n;
    return 0;
fail:
    free(buf);
    if (fd > 0) close(fd);
    return -1;
}

int cmd_minify(int argc, char **argv)
{
    const char *outp = NULL, *target_s = NULL, *pos[2];
    int no_mangle = 0, no_minify = 0, gate = 0, gate_warn = 0, help_flag = 0, npos = 0,
        pretok = 0;
    const util_opt opts[] = {
        { "-o", OPT_STR, &outp, NULL },
        { "--output", OPT_STR, &outp, NULL },
        { "--no-mangle", OPT_FLAG, &no_mangle, NULL },
        { "--no-minify", OPT_FLAG, &no_minify, NULL },
        { "--target", OPT_STR, &target_s, NULL },
        { "--gate", OPT_FLAG, &gate, NULL },
        { "--gate-warn", OPT_FLAG, &gate_warn, NULL },
        { "--pretokenise", OPT_FLAG, &pretok, NULL },
    };
    if (util_parse_args(argc, argv, opts, sizeof opts / sizeof opts[0], pos, 2, &npos,
                        &help_flag) != 0) {
        help(stderr);
        return EXIT_USAGE;
    }
    if (help_flag) { help(stdout); return EXIT_OK; }
    if (npos != 1) {
        util_err("expected exactly one input file");
        help(stderr);
        return EXIT_USAGE;
    }
    if (gate && gate_warn) {
        util_err("--gate and --gate-warn exclude each other");
        return EXIT_USAGE;
    }
    jsmin_opts jo;
    jsmin_opts_default(&jo);
    jo.gate = gate ? 1 : gate_warn ? 2 : 0;
    if (no_mangle) jo.mangle = 0;
    if (no_minify) jo.minify = 0;
    if (target_s && jsmin_parse_target(target_s, &jo.target) != 0) {
        util_err("unknown firmware version '%s' (expected e.g. 2v29, 2v00..2v29)", target_s);
        return EXIT_USAGE;
    }
    if (pretok && no_minify) {
        util_err("--pretokenise needs minifying: not with --no-minify");
        return EXIT_USAGE;
    }
    if (pretok && jsmin_pretok_target_ok(jo.target) == 0) {
        util_err("--pretokenise: Espruino's token ids are vouched for only for firmware 2v29 "
                 "(--target %s); refusing", target_s);
        return EXIT_USAGE;
    }
    jo.pretok = pretok;

    int rc = EXIT_FAIL;
    uint8_t *src = NULL, *out = NULL;
    size_t len = 0, out_len = 0;
    int warnings = 0;
    if (read_all(pos[0], &src, &len) != 0) goto done;
    int r = jsmin_run(strcmp(pos[0], "-") == 0 ? "<stdin>" : pos[0], src, len, &jo, &out,
                      &out_len, &warnings, stderr);
    if (r < 0) { util_err("%s: out of memory", pos[0]); goto done; }
    if (r > 0) {   /* the diagnostics are printed already */
        util_err("%s: not minified (errors above)", pos[0]);
        goto done;
    }
    if (util_write_output(outp, out, out_len, 0644) != 0) goto done;
    rc = EXIT_OK;
done:
    free(src);
    free(out);
    return rc;
}
