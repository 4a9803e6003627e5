/*
 * cmd_verify.c: `otasign verify DIR|FILE --pub NAME.pub [--bundle FILE]`
 * checks a release with the common/ verifier, the code devices run.  With
 * --ticket and the device inputs it runs the whole device decision
 * (ota_release_decide), as the golden-vector tests do.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ota_encode.h"
#include "ota_hsz.h"
#include "manifest.h"
#include "jsmin.h"
#include "util.h"
#include "cmd_keyset.h"

#define BUNDLE_MAX ((size_t)UINT32_MAX)

static void help(FILE *f)
{
    fprintf(f,
        "usage: otasign verify DIR|STATEMENT --pub NAME.pub [--pub ...] [--bundle FILE]\n"
        "       otasign verify KEYSET.ks --root R.pub [--root ...] [--threshold K] [--current N]\n"
        "       otasign verify --manifest FILE.json --pub NAME.pub --server-pub S.pub [...]\n"
        "                      [--app APP] [--board B] [--running N] [--max-size N]\n"
        "                      [--encodings identity[,heatshrink]] [--firmware V]\n"
        "                      [--ticket FILE --server-pub S.pub --device ID --nonce HEX\n"
        "                       [--tier signed|mac --secret-file F --mac HEX|--mac-file F]]\n"
        "\n"
        "Verify a signed statement with the same code devices run (common/): framing, the\n"
        "key id among the --pub keys, the signature, every field rule.  DIR means\n"
        "DIR/statement.bin with DIR/bundle.js.  Then, when given:\n"
        "  --bundle FILE      the bundle: byte count and SHA-256 must match the statement\n"
        "  --app/--board/--running/--max-size\n"
        "                     what a device with that app, board, running sequence and slot\n"
        "                     size would decide (wrong app, wrong board, not newer, too big)\n"
        "  --encodings LIST   the bundle encodings that device installs (default\n"
        "                     identity,heatshrink: this project's agent and otadev)\n"
        "  --firmware V       the Espruino firmware that device runs, e.g. 2v29: a\n"
        "                     pretokenised release (FORMAT.md 2c) applies only to the\n"
        "                     firmware it was made for (default: none, so it is refused)\n"
        "  --ticket FILE      the whole device decision on statement + ticket (FORMAT.md\n"
        "                     section 5) with --server-pub, --device, --nonce (hex) and the\n"
        "                     options above; --tier mac checks the stock-firmware HMAC\n"
        "                     (--secret-file, --mac or --mac-file) instead of signatures\n"
        "\n"
        "  --manifest FILE    a JSON manifest as GET /manifest/<id> returns it: every\n"
        "                     readable member must agree with the signed bytes, then the\n"
        "                     whole decision runs on its statement, ticket (and mac);\n"
        "                     --device, --nonce and --app default to the manifest's own\n"
        "\n"
        "Prints OK and the release, or the reason (e.g. \"bad signature (OTA_ERR_BAD_SIGNATURE)\").\n"
        "Exit status: 0 valid, 1 rejected or unreadable, 2 usage.\n");
}

static int load_keys(ota_trusted_key *keys, const char **files, int n)
{
    for (int i = 0; i < n; i++)
        if (util_load_pub(&keys[i], files[i]) != 0) return -1;
    return 0;
}

int cmd_verify(int argc, char **argv)
{
    const char *pubs[OPT_MULTI_MAX], *spubs[OPT_MULTI_MAX];
    int npubs = 0, nspubs = 0;
    const char *bundle_opt = NULL, *app = NULL, *board = NULL, *running_s = NULL, *max_s = NULL,
               *ticket_f = NULL, *device = NULL, *nonce_s = NULL, *tier_s = NULL,
               *secret_f = NULL, *mac_s = NULL, *mac_f = NULL, *manifest_f = NULL,
               *enc_s = "identity,heatshrink", *fw_s = NULL;
    int help_flag = 0, npos = 0;
    const char *pos[1];
    util_opt opts[] = {
        { "--pub", OPT_MULTI, pubs, &npubs },
        { "--bundle", OPT_STR, &bundle_opt, NULL },
        { "--app", OPT_STR, &app, NULL },
        { "--board", OPT_STR, &board, NULL },
        { "--running", OPT_STR, &running_s, NULL },
        { "--max-size", OPT_STR, &max_s, NULL },
        { "--encodings", OPT_STR, &enc_s, NULL },
        { "--firmware", OPT_STR, &fw_s, NULL },
        { "--ticket", OPT_STR, &ticket_f, NULL },
        { "--server-pub", OPT_MULTI, spubs, &nspubs },
        { "--device", OPT_STR, &device, NULL },
        { "--nonce", OPT_STR, &nonce_s, NULL },
        { "--tier", OPT_STR, &tier_s, NULL },
        { "--secret-file", OPT_STR, &secret_f, NULL },
        { "--mac", OPT_STR, &mac_s, NULL },
        { "--mac-file", OPT_STR, &mac_f, NULL },
        { "--manifest", OPT_STR, &manifest_f, NULL },
    };
    int rc = EXIT_FAIL, decoded = 0;
    char *stpath = NULL, *bpath = NULL;
    /* A key set (FORMAT.md section 13): otasign verify FILE.ks --root R.pub ... */
    if (keyset_arg_is_keyset(argc, argv)) return cmd_keyset_verify(argc, argv);
    uint8_t *st_buf = NULL, *tk_buf = NULL, *bundle = NULL, *secret = NULL, *macbuf = NULL;
    size_t st_len = 0, tk_len = 0, bundle_len = 0, secret_len = 0, macbuf_len = 0;
    ota_trusted_key keys[OPT_MULTI_MAX], skeys[OPT_MULTI_MAX];
    uint8_t nonce[OTA_NONCE_MAX + 1], mac[OTA_MAC_SIZE];
    size_t nonce_len = 0;
    uint64_t running = 0, maxsz = 0;
    int tier = OTA_TIER_SIGNED, have_mac = 0;
    ota_device dev;
    ota_offer offer;
    ota_statement st;
    ota_err e = OTA_ERR_ARG;
    const char *failed_file;
    manifest_bin *man = NULL;
    char app_from_manifest[OTA_NAME_MAX + 1];

    if (util_parse_args(argc, argv, opts, sizeof opts / sizeof opts[0], pos, 1, &npos, &help_flag) != 0) {
        help(stderr);
        return EXIT_USAGE;
    }
    if (help_flag) { help(stdout); return EXIT_OK; }
    if (manifest_f) {
        if (npos != 0 || ticket_f) { util_err("--manifest replaces the statement and --ticket arguments"); return EXIT_USAGE; }
        man = malloc(sizeof *man);
        if (!man) { util_err("out of memory"); return EXIT_FAIL; }
        if (manifest_load(man, manifest_f) != 0) { free(man); return EXIT_FAIL; }
        ticket_f = manifest_f;
        if (!device) { device = man->device; fprintf(stderr, "note: device id taken from the manifest (%s)\n", device); }
        if (!nonce_s) { nonce_s = man->nonce_hex; fprintf(stderr, "note: nonce taken from the manifest (%s)\n", nonce_s); }
        if (!app) {
            ota_statement ms;
            if (ota_statement_parse(&ms, man->statement, man->statement_len) == OTA_OK) {
                memcpy(app_from_manifest, ms.app, ms.app_len);
                app_from_manifest[ms.app_len] = 0;
                app = app_from_manifest;
                fprintf(stderr, "note: app taken from the manifest (%s)\n", app);
            }
        }
        if (man->has_mac && !mac_s && !mac_f) { memcpy(mac, man->mac, OTA_MAC_SIZE); have_mac = 1; }
        npos = 1;
        pos[0] = NULL;
    }
    if (npos != 1) { util_err("one statement file or release directory is required"); help(stderr); return EXIT_USAGE; }
    if (tier_s) {
        if (strcmp(tier_s, "signed") == 0) tier = OTA_TIER_SIGNED;
        else if (strcmp(tier_s, "mac") == 0) tier = OTA_TIER_MAC;
        else { util_err("--tier '%s': must be signed or mac", tier_s); return EXIT_USAGE; }
        if (tier == OTA_TIER_MAC && !ticket_f) { util_err("--tier mac needs --ticket"); return EXIT_USAGE; }
    }
    if (tier == OTA_TIER_SIGNED && npubs == 0) { util_err("--pub NAME.pub is required"); return EXIT_USAGE; }
    if (running_s && util_parse_u64(running_s, &running) != 0) { util_err("--running '%s': not a number", running_s); return EXIT_USAGE; }
    uint32_t encodings = 0;
    for (const char *q = enc_s; *q;) {
        size_t l = strcspn(q, ",");
        if (l == 8 && strncmp(q, "identity", 8) == 0) encodings |= OTA_ENC_MASK(OTA_ENC_IDENTITY);
        else if (l == 10 && strncmp(q, "heatshrink", 10) == 0) encodings |= OTA_ENC_MASK(OTA_ENC_HEATSHRINK);
        else { util_err("--encodings '%s': a list of identity, heatshrink", enc_s); return EXIT_USAGE; }
        q += l + (q[l] == ',');
    }
    if (!encodings) { util_err("--encodings: name at least one"); return EXIT_USAGE; }
    int firmware = 0;
    if (fw_s && jsmin_parse_target(fw_s, &firmware) != 0) {
        util_err("--firmware '%s': an Espruino firmware version such as 2v29", fw_s);
        return EXIT_USAGE;
    }
    if (max_s && (util_parse_u64(max_s, &maxsz) != 0 || maxsz > UINT32_MAX)) { util_err("--max-size '%s': not a number", max_s); return EXIT_USAGE; }
    if (ticket_f) {
        if (!device || !nonce_s || !app) { util_err("--ticket needs --device, --nonce and --app"); return EXIT_USAGE; }
        if (tier == OTA_TIER_SIGNED && nspubs == 0) { util_err("--ticket needs --server-pub"); return EXIT_USAGE; }
        if (tier == OTA_TIER_MAC && (!secret_f || (!mac_s && !mac_f && !have_mac))) { util_err("--tier mac needs --secret-file and --mac or --mac-file"); return EXIT_USAGE; }
        if (ota_hex_decode(nonce, sizeof nonce, &nonce_len, nonce_s, strlen(nonce_s)) != OTA_OK) {
            util_err("--nonce '%s': not hex (at most %d bytes)", nonce_s, OTA_NONCE_MAX);
            return EXIT_USAGE;
        }
    }
    if (mac_s) {
        size_t ml = 0;
        if (ota_hex_decode(mac, sizeof mac, &ml, mac_s, strlen(mac_s)) != OTA_OK || ml != OTA_MAC_SIZE) {
            util_err("--mac: must be %d hex characters", 2 * OTA_MAC_SIZE);
            return EXIT_USAGE;
        }
        have_mac = 1;
    }

    if (man) {
        stpath = strdup(manifest_f);
    } else if (util_is_dir(pos[0])) {
        stpath = util_path(pos[0], "statement.bin");
        if (!bundle_opt) {
            bpath = util_path(pos[0], "bundle.js");
            if (bpath && !util_exists(bpath)) { free(bpath); bpath = NULL; }
        }
    } else {
        stpath = strdup(pos[0]);
    }
    if (bundle_opt) bpath = strdup(bundle_opt);
    if (!stpath || (bundle_opt && !bpath)) { util_err("out of memory"); goto out; }

    if (load_keys(keys, pubs, npubs) != 0 || load_keys(skeys, spubs, nspubs) != 0) goto out;
    if (man) {
        st_buf = malloc(man->statement_len + 1);
        tk_buf = malloc(man->ticket_len + 1);
        if (!st_buf || !tk_buf) { util_err("out of memory"); goto out; }
        memcpy(st_buf, man->statement, man->statement_len);
        st_len = man->statement_len;
        memcpy(tk_buf, man->ticket, man->ticket_len);
        tk_len = man->ticket_len;
    } else {
        if (util_read_file(stpath, 1 << 20, &st_buf, &st_len) != 0) goto out;
        if (ticket_f && util_read_file(ticket_f, 1 << 20, &tk_buf, &tk_len) != 0) goto out;
    }
    if (secret_f && util_read_file(secret_f, 4096, &secret, &secret_len) != 0) goto out;
    if (mac_f) {
        if (util_read_file(mac_f, 4096, &macbuf, &macbuf_len) != 0) goto out;
        if (macbuf_len != OTA_MAC_SIZE) { util_err("%s: a mac file holds %d bytes", mac_f, OTA_MAC_SIZE); goto out; }
        memcpy(mac, macbuf, OTA_MAC_SIZE);
        have_mac = 1;
    }

    memset(&dev, 0, sizeof dev);
    dev.app = app;
    dev.app_len = app ? strlen(app) : 0;
    dev.board = board;
    dev.board_len = board ? strlen(board) : 0;
    dev.running_seq = running;
    dev.device_id = device;
    dev.device_id_len = device ? strlen(device) : 0;
    dev.nonce = nonce;
    dev.nonce_len = nonce_len;
    dev.release_keys = keys;
    dev.n_release_keys = (size_t)npubs;
    dev.server_keys = skeys;
    dev.n_server_keys = (size_t)nspubs;
    dev.max_size = (uint32_t)maxsz;
    /* the encodings this project's devices install (Espruino agent, otadev) */
    dev.encodings = encodings;
    dev.firmware = (uint16_t)firmware;
    dev.tier = tier;
    dev.mac_key = secret;
    dev.mac_key_len = secret_len;

    failed_file = stpath;
    if (ticket_f) {
        failed_file = ticket_f;
        e = ota_release_decide(&offer, &dev, st_buf, st_len, tk_buf, tk_len, have_mac ? mac : NULL);
        st = offer.statement;
    } else {
        e = ota_statement_verify(&st, st_buf, st_len, keys, (size_t)npubs);
        if (e == OTA_OK && (app || board || running_s || max_s)) {
            /* Without --app, judge the rest against the statement's own app. */
            if (!app) { dev.app = st.app; dev.app_len = st.app_len; }
            if (!board && st.board_len) { dev.board = st.board; dev.board_len = st.board_len; }
            e = ota_release_applies(&st, &dev);
        }
    }
    if (e == OTA_OK && bpath) {
        uint8_t sha[32];
        failed_file = bpath;
        if (util_read_file(bpath, BUNDLE_MAX, &bundle, &bundle_len) != 0) goto out;
        crypto_hash_sha256(sha, bundle, bundle_len);
        e = ota_release_check_bundle(&st, sha, bundle_len);
        if (e == OTA_OK && st.encoding == OTA_ENC_HEATSHRINK) {
            /* encoding 1: the blocks must decode to the installed program */
            uint8_t *prog = malloc(st.installed_size);
            if (!prog) { util_err("out of memory"); goto out; }
            e = ota_hsz_decode(prog, st.installed_size, bundle, bundle_len);
            if (e == OTA_OK) {
                crypto_hash_sha256(sha, prog, st.installed_size);
                if (memcmp(sha, st.installed_sha256, 32) != 0) e = OTA_ERR_INSTALLED_HASH;
            }
            free(prog);
            decoded = e == OTA_OK;
        }
    }
    if (e != OTA_OK) {
        const char *why = ota_strerror(e);
        char buf[128];
        if (failed_file == bpath) {
            if (e == OTA_ERR_TRUNCATED || e == OTA_ERR_TOO_LONG) {
                snprintf(buf, sizeof buf, "%zu bytes, the statement says %lu", bundle_len,
                         (unsigned long)st.size);
                why = buf;
            } else if (e == OTA_ERR_HASH_MISMATCH) {
                why = "SHA-256 differs from the statement's";
            }
        }
        util_err("%s: FAIL: %s (%s)", ticket_f && failed_file == ticket_f ? "decision" : failed_file,
                 why, util_err_name(e));
        goto out;
    }
    char idhex[17], sha[65];
    util_hex(idhex, st.key_id, OTA_KEY_ID_SIZE);
    util_hex(sha, st.sha256, 32);
    printf("OK %s: app %.*s seq %llu board %.*s, %s key %s\n", stpath, (int)st.app_len, st.app,
           (unsigned long long)st.seq, st.board_len ? (int)st.board_len : 5,
           st.board_len ? st.board : "(any)",
           tier == OTA_TIER_MAC ? "MAC tier (signature not checked)," : "signature valid,", idhex);
    if (ticket_f) printf("OK %s: ticket for %s, nonce matches, offer accepted\n", ticket_f, device);
    if (bpath) printf("OK %s: %zu bytes, sha256 %s\n", bpath, bundle_len, sha);
    else printf("   (bundle not checked: give --bundle FILE)\n");
    if (decoded) {
        util_hex(sha, st.installed_sha256, 32);
        printf("OK %s: heatshrink blocks decode to the %lu-byte program, sha256 %s\n", bpath,
               (unsigned long)st.installed_size, sha);
    }
    rc = EXIT_OK;
out:
    free(stpath); free(bpath);
    free(st_buf); free(tk_buf); free(bundle); free(macbuf); free(man);
    if (secret) { sodium_memzero(secret, secret_len); free(secret); }
    return rc;
}
