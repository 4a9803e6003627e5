/*
 * fuzz_offer.c: the device's decision on an offer (ota_release_decide),
 * with the signatures made valid so that mutations get past them.
 *
 * Input (short inputs are padded with zeros):
 *   0      flags: bit0 MAC tier, bit1 statement signed by an untrusted key,
 *          bit2 ticket signed by an untrusted key, bit3 a statement
 *          signature bit flipped, bit4 a ticket signature bit flipped, bit5
 *          a wrong MAC, bit6 the device accepts every encoding, bit7 no
 *          re-signing (the signature bytes come from the input)
 *   1      sync: bit0 statement key id := the signing key's, bit1 ticket key
 *          id := the signing key's, bit2 ticket statement hash := SHA-256 of
 *          the statement, bit3 ticket bundle hash := statement sha256, bit4
 *          device id := the ticket's, bit5 nonce := the ticket's, bit6 app
 *          and board := the statement's
 *   2..273     statement body (272), 274..425 ticket body (152)
 *   426..489   statement signature, 490..553 ticket signature (bit7 only)
 *   554..561   running seq (u64 le), 562..565 max size (u32 le)
 *   566..569   lengths of app, board, device id, nonce (each mod 33)
 *   570..697   app, board, device id, nonce bytes (32 each)
 *
 * Property: whenever the decision is OTA_OK, every rule of FORMAT.md section
 * 5 is checked again here, independently (raw offsets, libsodium for
 * signatures, hashes and the MAC), and must hold.
 */
#include <sodium.h>
#include <string.h>
#include <strings.h>

#include "fuzz.h"
#include "ota_release.h"

#define IN_SIZE 698

static uint8_t rel_pk[32], rel_sk[64], bad_pk[32], bad_sk[64], srv_pk[32], srv_sk[64];
static ota_trusted_key rel_key, srv_key;
static const uint8_t secret[32] = "fuzz-device-secret-0123456789ab";

static void init(void)
{
    static int done;
    if (done) return;
    if (sodium_init() < 0) abort();
    uint8_t seed[32];
    memset(seed, 1, 32);
    crypto_sign_seed_keypair(rel_pk, rel_sk, seed);
    memset(seed, 2, 32);
    crypto_sign_seed_keypair(srv_pk, srv_sk, seed);
    memset(seed, 3, 32);
    crypto_sign_seed_keypair(bad_pk, bad_sk, seed);
    memcpy(rel_key.pub, rel_pk, 32);
    ota_release_key_id(rel_key.id, rel_pk);
    memcpy(srv_key.pub, srv_pk, 32);
    ota_release_key_id(srv_key.id, srv_pk);
    done = 1;
}

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A NUL-padded name field of 32 bytes equals s (len bytes), case-insensitively
 * over ASCII when ci (board names). */
static int field_eq(const uint8_t *f, const char *s, size_t len, int ci)
{
    if (len > 32) return 0;
    for (size_t i = len; i < 32; i++) if (f[i] != 0) return 0;
    return ci ? strncasecmp((const char *)f, s, len) == 0 && memchr(f, 0, len) == NULL
              : memcmp(f, s, len) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init();
    uint8_t in[IN_SIZE];
    memset(in, 0, sizeof in);
    memcpy(in, data, size < sizeof in ? size : sizeof in);
    uint8_t flags = in[0], sync = in[1];
    uint8_t st[OTA_STATEMENT_SIZE], tk[OTA_TICKET_SIZE], mac[32];
    memcpy(st, in + 2, OTA_STATEMENT_BODY_SIZE);
    memcpy(tk, in + 274, OTA_TICKET_BODY_SIZE);
    memcpy(st + OTA_STATEMENT_BODY_SIZE, in + 426, 64);
    memcpy(tk + OTA_TICKET_BODY_SIZE, in + 490, 64);

    ota_device dev;
    memset(&dev, 0, sizeof dev);
    const uint8_t *dp = in + 554;
    dev.running_seq = le64(dp);
    dev.max_size = le32(dp + 8);
    size_t al = dp[12] % 33, bl = dp[13] % 33, il = dp[14] % 33, nl = dp[15] % 33;
    char app[32], board[32], devid[32];
    uint8_t nonce[32];
    memcpy(app, dp + 16, 32);
    memcpy(board, dp + 48, 32);
    memcpy(devid, dp + 80, 32);
    memcpy(nonce, dp + 112, 32);

    /* make what the flags ask for consistent, then sign */
    const uint8_t *ssk = (flags & 2) ? bad_sk : rel_sk, *spk = (flags & 2) ? bad_pk : rel_pk;
    const uint8_t *tsk = (flags & 4) ? bad_sk : srv_sk, *tpk = (flags & 4) ? bad_pk : srv_pk;
    if (sync & 1) ota_release_key_id(st + 8, spk);
    if (sync & 2) ota_release_key_id(tk + 8, tpk);
    if (!(flags & 128)) {
        crypto_sign_detached(st + OTA_STATEMENT_BODY_SIZE, NULL, st, OTA_STATEMENT_BODY_SIZE, ssk);
        if (flags & 8) st[OTA_STATEMENT_BODY_SIZE + (in[2] & 63)] ^= (uint8_t)(1u << (in[3] & 7));
    }
    if (sync & 4) crypto_hash_sha256(tk + 80, st, OTA_STATEMENT_SIZE);
    if (sync & 8) memcpy(tk + 112, st + 104, 32);
    if (!(flags & 128)) {
        crypto_sign_detached(tk + OTA_TICKET_BODY_SIZE, NULL, tk, OTA_TICKET_BODY_SIZE, tsk);
        if (flags & 16) tk[OTA_TICKET_BODY_SIZE + (in[4] & 63)] ^= (uint8_t)(1u << (in[5] & 7));
    }
    if (sync & 16) { il = 0; while (il < 32 && tk[16 + il]) il++; memcpy(devid, tk + 16, 32); }
    if (sync & 32) { nl = tk[5] <= 32 ? tk[5] : 32; memcpy(nonce, tk + 48, 32); }
    if (sync & 64) {
        al = 0; while (al < 32 && st[16 + al]) al++; memcpy(app, st + 16, 32);
        bl = 0; while (bl < 32 && st[48 + bl]) bl++; memcpy(board, st + 48, 32);
    }
    crypto_auth_hmacsha256_state hs;
    crypto_auth_hmacsha256_init(&hs, secret, sizeof secret);
    crypto_auth_hmacsha256_update(&hs, tk, sizeof tk);
    crypto_auth_hmacsha256_final(&hs, mac);
    if (flags & 32) mac[in[6] & 31] ^= 1;

    dev.app = app; dev.app_len = al;
    dev.board = board; dev.board_len = bl;
    dev.device_id = devid; dev.device_id_len = il;
    dev.nonce = nonce; dev.nonce_len = nl;
    dev.release_keys = &rel_key; dev.n_release_keys = 1;
    dev.server_keys = &srv_key; dev.n_server_keys = 1;
    dev.encodings = (flags & 64) ? 0xFFFFFFFFu : 0;
    dev.tier = (flags & 1) ? OTA_TIER_MAC : OTA_TIER_SIGNED;
    dev.mac_key = secret; dev.mac_key_len = sizeof secret;

    ota_offer off;
    ota_err e = ota_release_decide(&off, &dev, st, sizeof st, tk, sizeof tk, mac);
    static int verbose = -1;
    if (verbose < 0) verbose = getenv("FUZZ_VERBOSE") != NULL;
    if (verbose) fprintf(stderr, "decision: %s\n", ota_strerror(e));
    if (e != OTA_OK) return 0;

    /* ---- accepted: every rule again, independently ---- */
    FUZZ_ASSERT(memcmp(tk, "OTAT", 4) == 0 && tk[4] == 1, "ticket framing");
    FUZZ_ASSERT(memcmp(st, "OTAS", 4) == 0 && st[4] == 1, "statement framing");
    if (dev.tier == OTA_TIER_SIGNED) {
        uint8_t kid[8];
        ota_release_key_id(kid, srv_pk);
        FUZZ_ASSERT(memcmp(tk + 8, kid, 8) == 0, "ticket key id is the trusted server key's");
        FUZZ_ASSERT(crypto_sign_verify_detached(tk + OTA_TICKET_BODY_SIZE, tk, OTA_TICKET_BODY_SIZE, srv_pk) == 0,
                    "ticket signature verifies (libsodium)");
        ota_release_key_id(kid, rel_pk);
        FUZZ_ASSERT(memcmp(st + 8, kid, 8) == 0, "statement key id is the trusted release key's");
        FUZZ_ASSERT(crypto_sign_verify_detached(st + OTA_STATEMENT_BODY_SIZE, st, OTA_STATEMENT_BODY_SIZE, rel_pk) == 0,
                    "statement signature verifies (libsodium)");
    } else {
        uint8_t want[32];
        crypto_auth_hmacsha256_init(&hs, secret, sizeof secret);
        crypto_auth_hmacsha256_update(&hs, tk, sizeof tk);
        crypto_auth_hmacsha256_final(&hs, want);
        FUZZ_ASSERT(sodium_memcmp(want, mac, 32) == 0, "MAC verifies (libsodium)");
    }
    FUZZ_ASSERT(tk[5] >= 16 && tk[5] <= 32 && tk[5] == nl && memcmp(tk + 48, nonce, nl) == 0,
                "ticket nonce is the device's (%u vs %zu)", tk[5], nl);
    FUZZ_ASSERT(il >= 1 && field_eq(tk + 16, devid, il, 0), "ticket device id is the device's");
    uint8_t h[32];
    crypto_hash_sha256(h, st, OTA_STATEMENT_SIZE);
    FUZZ_ASSERT(memcmp(tk + 80, h, 32) == 0, "ticket names this statement");
    FUZZ_ASSERT(memcmp(tk + 112, st + 104, 32) == 0, "ticket bundle hash is the statement's");
    FUZZ_ASSERT(al >= 1 && field_eq(st + 16, app, al, 0), "app is the device's");
    FUZZ_ASSERT(st[48] == 0 ? field_eq(st + 48, "", 0, 0) : field_eq(st + 48, board, bl, 1),
                "board empty or the device's");
    uint64_t seq = le64(st + 80);
    FUZZ_ASSERT(seq >= 1 && seq > dev.running_seq, "sequence %llu above the running %llu",
                (unsigned long long)seq, (unsigned long long)dev.running_seq);
    uint32_t sz = le32(st + 96), isz = le32(st + 100);
    FUZZ_ASSERT(sz >= 1 && isz >= 1, "sizes at least 1");
    FUZZ_ASSERT(dev.max_size == 0 || (sz <= dev.max_size && isz <= dev.max_size), "fits the slot");
    FUZZ_ASSERT(st[5] == 0 || (flags & 64), "encoding the device installs");
    FUZZ_ASSERT(st[5] != 0 || (sz == isz && memcmp(st + 104, st + 136, 32) == 0), "identity encoding consistent");
    FUZZ_ASSERT(st[6] == 0 && st[7] == 0 && tk[6] == 0 && tk[7] == 0, "reserved bytes zero");
    for (int i = 266; i < 272; i++) FUZZ_ASSERT(st[i] == 0, "statement reserved1 zero");
    FUZZ_ASSERT(off.statement.seq == seq && off.statement.size == sz, "the offer view is the bytes");
    return 0;
}
