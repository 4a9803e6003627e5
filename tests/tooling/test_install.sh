#!/usr/bin/env bash
# tests/tooling/test_install.sh: `make install` into a DESTDIR, then the
# installed tree used on its own, from a directory outside the sources:
# --version, `otasign device add` against a real otad (the agent comes from
# PREFIX/share/otasign/espruino), publish/rollout/status with the installed
# otasign, the dashboard served by the installed otad, and the man pages
# rendered by `man -l`.
T_NAME=test_install
source "$(dirname "$0")/../device/lib.sh"
ROOT="$WORK/root"
out=$(make -C "$OTA_ROOT" --no-print-directory BUILD="${OTA_BUILD:-build}" install DESTDIR="$ROOT" PREFIX=/usr 2>&1); rc=$?
expect_eq "make install DESTDIR=... PREFIX=/usr" 0 "$rc"
[ "$rc" = 0 ] || echo "$out" | tail -20
IB="$ROOT/usr/bin"
case_begin "the three programs installed"
for p in otasign otad otadev; do check "installed $p" test -x "$IB/$p"; done
case_begin "the agent's files installed"
for f in ota.js boot0.js bootcde.js golden.js; do check "agent file $f installed" test -f "$ROOT/usr/share/otasign/espruino/$f"; done
case_end
check "systemd unit installed" test -f "$ROOT/usr/lib/systemd/system/otad.service"
expect_has "unit points at the installed otad" "ExecStart=/usr/bin/otad " "$(cat "$ROOT/usr/lib/systemd/system/otad.service" 2>/dev/null)"
check "LICENSE installed" test -f "$ROOT/usr/share/doc/otasign/LICENSE"
v=$("$IB/otasign" --version); expect_has "installed otasign --version" "otasign " "$v"
ver=$(sed -n 's/^otasign \([^ ]*\).*/\1/p' <<<"$v")
expect_eq "installed otad --version" "otad $ver" "$("$IB/otad" --version)"
expect_eq "installed otadev --version" "otadev $ver" "$("$IB/otadev" --version)"

# ---- man pages ----------------------------------------------------------------------
for m in man1/otasign.1 man8/otad.8 man1/otadev.1; do
    case_begin "man -l $m renders, with NAME, without warnings"
    f="$ROOT/usr/share/man/$m"
    txt=$(MANWIDTH=100 man -l "$f" 2>"$WORK/man.err"); rc=$?
    expect_eq "man -l $m" 0 "$rc"
    expect_has "$m: NAME section" "NAME" "$txt"
    warn=$(MANWIDTH=100 man --warnings -l "$f" 2>&1 >/dev/null)
    expect_eq "$m renders without warnings" "" "$warn"
done
case_end
txt=$(MANWIDTH=100 man -l "$ROOT/usr/share/man/man1/otasign.1" 2>/dev/null)
expect_has "otasign(1) lists the admin commands' options" "--until COND" "$txt"
expect_has "otasign(1) documents the precedence" "OTASIGN_TOKEN_FILE" "$txt"
txt=$(MANWIDTH=100 man -l "$ROOT/usr/share/man/man8/otad.8" 2>/dev/null)
expect_has "otad(8) lists its options" "--release-pub FILE" "$txt"

# ---- the installed tree on its own ------------------------------------------------------
make_keys
OTA_BIN="$IB" start_otad || { done_tests; exit 1; }
echo "$TOKEN" >"$WORK/token"
mkdir -p "$WORK/elsewhere"; cd "$WORK/elsewhere" || exit 1
unset OTASIGN_AGENT_DIR
out=$(env -u OTASIGN_AGENT_DIR "$IB/otasign" device add pico-1 --server "$BASE" --app logger \
      --token-file "$WORK/token" 2>&1); rc=$?
expect_eq "installed otasign device add" 0 "$rc"
expect_has "device add wrote the script" "pico-1.provision.js" "$out"
check "provisioning script written" test -s "$WORK/elsewhere/pico-1.provision.js"
# the script stages its files in pieces; read them back as the board would
# (tests/espruino-upload/script.js) and look for the installed agent in them
AGENT_IN_SCRIPT=$(node -e '
  const f = require(process.argv[1]).scriptFiles(require("fs").readFileSync(process.argv[2], "latin1"));
  const a = f["ota"] && f["ota"].data.toString("latin1");
  console.log(a && a.includes("OTAR") ? "agent " + a.length + " bytes" : "no agent");
' "$OTA_ROOT/tests/espruino-upload/script.js" "$WORK/elsewhere/pico-1.provision.js" 2>&1)
expect_has "script holds the agent" "agent " "$AGENT_IN_SCRIPT"
expect_eq "script mode 0600" 600 "$(stat -c %a "$WORK/elsewhere/pico-1.provision.js" 2>/dev/null)"
"$IB/otasign" release "$ROOT/usr/share/otasign/examples/logger.js" --key "$WORK/rel.key" --app logger \
    --out "$WORK/elsewhere/rels" >/dev/null 2>&1
check "installed otasign release of the installed example" test -f "$WORK/elsewhere/rels/logger-1/statement.bin"
out=$("$IB/otasign" publish rels/logger-1 --server "$BASE" --token-file "$WORK/token" 2>&1); rc=$?
expect_eq "installed otasign publish" 0 "$rc"
out=$("$IB/otasign" rollout start logger 1 --server "$BASE" --token-file "$WORK/token" 2>&1); rc=$?
expect_eq "installed otasign rollout start" 0 "$rc"
out=$("$IB/otasign" status logger --server "$BASE" --token-file "$WORK/token" 2>&1); rc=$?
expect_eq "installed otasign status" 0 "$rc"
expect_has "status of the rollout" "active" "$out"
code=$(curl -s -o "$WORK/ui.html" -w '%{http_code}' "$BASE/ui/")
expect_eq "installed otad serves the dashboard" 200 "$code"
expect_has "dashboard page" "otad dashboard" "$(cat "$WORK/ui.html")"
cd "$OTA_ROOT" || exit 1
done_tests
