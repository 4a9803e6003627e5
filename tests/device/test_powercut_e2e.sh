#!/usr/bin/env bash
# tests/device/test_powercut_e2e.sh: otadev against the real otad, power cut
# at EVERY flash operation (write or erase; otadev --cut-power-at N tears the
# Nth one in half and stops dead) of
#   - an update v1 -> v2 (download, install, trial boot, confirm), and
#   - a revert (v3 throws at start: trial boots, then back to v2).
# After each cut: `otadev status` must read a consistent state naming the
# old or the new program, and simply running the device again must end where
# the rules say (v2 confirmed; v2 running with v3 rolled back).  The
# unit-level enumeration with torn writes of every kind is test_powercut.
T_NAME=test_device_powercut
source "$(dirname "$0")/lib.sh"

make_keys || { done_tests; exit 1; }
start_otad || { done_tests; exit 1; }
pad=$(head -c 5000 /dev/zero | tr '\0' 'y')
release 1 'var v=1;' && publish "$RDIR"
release 2 "var v=2; var pad=\"$pad\";" && publish "$RDIR"
release 3 'var v=3; var m="otadev:throws";' && publish "$RDIR"
provision base          # the Pico geometry: 3 x 16 KB + 128 KB Storage, golden 16 KB
rollout "{\"app\":\"$APP\",\"seq\":2,\"percent\":100}"

# run DEV FLASH-COPY-OF [args]: fresh copy of a flash image for a device
fresh() { cp "$WORK/$2.flash" "$WORK/$1.flash"; cp "$WORK/$2.flash.geom" "$WORK/$1.flash.geom"; }

# how many flash operations an uninterrupted update takes
fresh count base
dev count
total=$(sed -n 's/^otadev: \([0-9]*\) flash operations$/\1/p' "$WORK/count.log" | tail -1)
expect_eq "uninterrupted update" 2 "$(field "$(status count)" running_seq)"
[ -n "$total" ] && [ "$total" -gt 10 ] || { bad "flash operations of an update: '$total'"; total=0; }

points=0
case_begin "update v1->v2: a power cut at every flash operation"
for n in $(seq 1 "$total"); do
    d=u$n
    fresh "$d" base
    dev "$d" --cut-power-at "$n" --quiet; rc=$?
    [ "$rc" = 3 ] || { bad "update cut $n: exit $rc"; continue; }
    st=$(status "$d")
    s=$(field "$st" state); r=$(field "$st" running_seq)
    case "$s/$r" in
        confirmed/1|downloading/1|downloaded/1|trial/1|confirmed/2) ;;
        *) bad "update cut $n: state after the cut: $st"; continue ;;
    esac
    dev "$d" --quiet; rc=$?
    st=$(status "$d")
    if [ "$rc" = 0 ] && [ "$(field "$st" state)" = confirmed ] && [ "$(field "$st" running_seq)" = 2 ]; then
        ok; points=$((points + 1))
    else
        bad "update cut $n: after power returned: rc $rc, $st"
    fi
done
case_end
echo "update v1->v2: $points power-cut points (of $total flash operations) survived"

# the revert: start from a device on v2, v3 throws at start
rollout "{\"app\":\"$APP\",\"seq\":3,\"percent\":100}"
fresh count2 count
dev count2
total2=$(sed -n 's/^otadev: \([0-9]*\) flash operations$/\1/p' "$WORK/count2.log" | tail -1)
st=$(status count2)
expect_eq "uninterrupted revert" "rolled_back 2" "$(field "$st" state) $(field "$st" running_seq)"
points2=0
case_begin "revert v3->v2: a power cut at every flash operation"
for n in $(seq 1 "${total2:-0}"); do
    d=r$n
    fresh "$d" count
    dev "$d" --cut-power-at "$n" --quiet; rc=$?
    [ "$rc" = 3 ] || { bad "revert cut $n: exit $rc"; continue; }
    st=$(status "$d")
    case "$(field "$st" state)/$(field "$st" running_seq)" in
        confirmed/2|downloading/2|downloaded/2|trial/2|rolled_back/2) ;;
        *) bad "revert cut $n: state after the cut: $st"; continue ;;
    esac
    dev "$d" --quiet; rc=$?
    st=$(status "$d")
    if [ "$rc" = 0 ] && [ "$(field "$st" state)" = rolled_back ] && [ "$(field "$st" running_seq)" = 2 ] \
       && [ "$(field "$st" event_seq)" = 3 ]; then
        ok; points2=$((points2 + 1))
    else
        bad "revert cut $n: after power returned: rc $rc, $st"
    fi
done
case_end
echo "revert v3->v2: $points2 power-cut points (of $total2 flash operations) survived"
echo "power-cut points survived end to end: $((points + points2))"
done_tests
