#!/usr/bin/env bash
# tests/tooling/test_packaging.sh: the Dockerfile and the systemd unit.
#
# Dockerfile: built and run (health check, non-root, volume) when a
# container engine answers here (docker or podman); otherwise that part is
# reported as skipped and what can be checked without an engine is: its
# content (Debian 12 stages, multi-stage copy, non-root USER, VOLUME,
# HEALTHCHECK on /healthz, otad as the exec-form entry point), that the
# runtime stage installs the Debian package of every shared library the
# programs link, that the build stage installs what scripts/deps.sh builds
# with, and that the build stage's RUN commands work on a copy of the tree
# as the build context holds it (.dockerignore applied), giving an otad that
# answers the health check with the image's own CMD arguments.
#
# systemd unit: `systemd-analyze verify` on the installed unit, and the
# sandboxing directives it must keep; `systemd-analyze security` prints its
# exposure score (a figure, not a pass/fail).
T_NAME=test_packaging
source "$(dirname "$0")/../lib/base.sh"
D="$OTA_ROOT/Dockerfile"
df=$(cat "$D")

# ---- Dockerfile: content -----------------------------------------------------------------
froms=$(grep -E '^FROM ' "$D")
expect_eq "two stages" 2 "$(grep -c '^FROM ' <<<"$froms")"
check "every stage is Debian 12" test -z "$(grep -vE '^FROM debian:12(-slim)?( AS [a-z]+)?$' <<<"$froms")"
expect_has "named build stage" "FROM debian:12 AS build" "$froms"
expect_has "runtime copies from the build stage" "COPY --from=build" "$df"
user=$(sed -n 's/^USER \(.*\)/\1/p' "$D" | tail -1)
check "runs as a non-root user" test -n "$user" -a "$user" != root -a "$user" != 0
expect_has "the user is created" "useradd --system" "$df"
expect_has "data volume" 'VOLUME ["/var/lib/otad"]' "$df"
expect_has "health check on /healthz" "http://127.0.0.1:8080/healthz" "$(sed -n '/^HEALTHCHECK/,/^[A-Z]/p' "$D")"
expect_has "otad is the entry point (exec form)" 'ENTRYPOINT ["/usr/bin/otad"]' "$df"
check "apt lists removed in every apt layer" test "$(grep -c 'apt-get update' "$D")" = "$(grep -c 'rm -rf /var/lib/apt/lists' "$D")"
check "no unpinned :latest base" test -z "$(grep -E '^FROM [^ ]*:latest' "$D")"
check ".dockerignore keeps build/ and .git out" grep -qx build "$OTA_ROOT/.dockerignore"

# The build stage's packages cover scripts/deps.sh's build list (minus tools
# the image build does not use).
build_pkgs=$(sed -n '/^build_pkgs=(/,/)/p' "$OTA_ROOT/scripts/deps.sh" | tr -d '()' | sed 's/build_pkgs=//' | tr ' ' '\n' | grep -v '^$')
stage=$(sed -n '/^FROM debian:12 AS build/,/^FROM /p' "$D")
case_begin "the build stage installs scripts/deps.sh's build packages"
for p in $build_pkgs; do
    case "$p" in sqlite3|curl|ca-certificates) continue ;; esac
    expect_has "build stage installs $p" " $p" "$stage"
done
case_end
# The runtime stage installs the package of every shared library the
# programs link (dpkg -S on this Debian 12 machine).
rt=$(sed -n '/^FROM debian:12-slim/,$p' "$D")
case_begin "the runtime stage installs the package of every library the programs link"
for b in otad otasign otadev; do
    for lib in $(ldd "$OTA_BIN/$b" | awk '/=> \//{print $3}'); do
        pkg=$(dpkg -S "$(readlink -f "$lib")" 2>/dev/null | head -1 | cut -d: -f1)
        [ -z "$pkg" ] && pkg=$(dpkg -S "$lib" 2>/dev/null | head -1 | cut -d: -f1)
        case "$pkg" in ''|libc6|libgcc-s1|libstdc++6) continue ;; esac
        # Only the libraries the programs name themselves; the rest come with them.
        if ldd "$OTA_BIN/$b" >/dev/null && readelf -d "$OTA_BIN/$b" | grep -q "NEEDED.*\[$(basename "$lib")\]"; then
            expect_has "runtime stage has $pkg (for $b: $(basename "$lib"))" " $pkg" "$rt"
        fi
    done
done
case_end

# ---- Dockerfile: an engine, or the build stage by hand --------------------------------------
engine=
for e in docker podman; do
    if command -v "$e" >/dev/null && timeout 10 "$e" info >/dev/null 2>&1; then engine=$e; break; fi
done
if [ -n "$engine" ] && [ -z "${OTA_NO_IMAGE_BUILD:-}" ]; then
    tag="otasign-test:$$"
    if timeout 1200 "$engine" build -q -t "$tag" "$OTA_ROOT" >"$WORK/build.log" 2>&1; then
        ok
        "$OTA_BIN/otasign" keygen --out "$WORK/rel" >/dev/null
        cid=$("$engine" run -d -p 127.0.0.1::8080 -v "$WORK/rel.pub:/etc/otad/release.pub:ro" "$tag")
        for _ in $(seq 1 60); do
            st=$("$engine" inspect -f '{{.State.Health.Status}}' "$cid" 2>/dev/null)
            [ "$st" = healthy ] && break; sleep 1
        done
        expect_eq "container reports healthy" healthy "$st"
        expect_eq "container user" "otad" "$("$engine" exec "$cid" id -un)"
        "$engine" rm -f "$cid" >/dev/null
        "$engine" rmi "$tag" >/dev/null 2>&1
    else
        bad "$engine build: $(tail -20 "$WORK/build.log")"
    fi
else
    skip "Docker image not built: no container engine answers here ($(command -v docker >/dev/null && echo 'docker client without a daemon' || echo 'no docker'), $(command -v podman >/dev/null && echo 'podman without a working setup' || echo 'no podman'); base images cannot be pulled without a registry either); the build stage's commands are run by hand instead"
    # The build context as docker sends it: the tracked files minus .dockerignore.
    ctx="$WORK/ctx"; mkdir -p "$ctx"
    (cd "$OTA_ROOT" && git ls-files -co --exclude-standard -z | grep -zvE '^(build|run-data|tests/js/node_modules)(/|$)|^\.git/' |
        xargs -0 -I{} cp --parents -- {} "$ctx/" 2>/dev/null)
    check "build context has the sources" test -f "$ctx/Makefile" -a -f "$ctx/server/ui/app.js"
    # Every RUN line of the build stage that is not apt-get, as the shell would run it.
    runs=$(sed -n '/^FROM debian:12 AS build/,/^FROM /p' "$D" | sed -n 's/^RUN //p' | grep -v apt-get)
    expect_has "the build stage builds and installs" "make install DESTDIR=/out PREFIX=/usr" "$runs"
    runs=${runs//\/out/$WORK\/out}
    if (cd "$ctx" && timeout 900 bash -ec "$runs") >"$WORK/stage.log" 2>&1; then ok; else bad "build stage commands: $(tail -20 "$WORK/stage.log")"; fi
    check "build stage produced /usr/bin/otad" test -x "$WORK/out/usr/bin/otad"
    # The image's CMD, with its paths moved under $WORK, answers the health check.
    "$OTA_BIN/otasign" keygen --out "$WORK/rel" >/dev/null
    cmd=$(sed -n 's/^CMD \[\(.*\)\]$/\1/p' "$D" | tr -d '",')
    expect_has "CMD names the data volume and the release key" "--data /var/lib/otad" "$cmd"
    set -- $cmd
    args=()
    while [ $# -gt 0 ]; do
        case "$1" in
            --data) args+=(--data "$WORK/var-lib-otad"); shift ;;
            --listen) args+=(--listen 127.0.0.1:0); shift ;;
            --release-pub) args+=(--release-pub "$WORK/rel.pub"); shift ;;
            *) args+=("$1") ;;
        esac
        shift
    done
    "$WORK/out/usr/bin/otad" "${args[@]}" --port-file "$WORK/port" >"$WORK/otad.out" 2>>"$WORK/otad.err" &
    OTAD_PID=$!
    for _ in $(seq 1 100); do [ -s "$WORK/port" ] && break; sleep 0.05; done
    hc=$(sed -n '/^HEALTHCHECK/,/\]$/p' "$D" | sed -n 's/.*CMD \[\(.*\)\]$/\1/p' | tr -d '",' | sed "s#127.0.0.1:8080#127.0.0.1:$(cat "$WORK/port" 2>/dev/null)#")
    if [ -n "$hc" ] && $hc; then ok; else bad "health check command failed: $hc"; fi
    stop_otad
fi

# ---- systemd unit ---------------------------------------------------------------------------
U="$OTA_ROOT/packaging/otad.service"
u=$(cat "$U")
case_begin "the unit keeps its sandboxing directives"
for d in NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes PrivateTmp=yes PrivateDevices=yes \
         DynamicUser=yes StateDirectory=otad CapabilityBoundingSet= RestrictAddressFamilies= \
         SystemCallFilter=@system-service MemoryDenyWriteExecute=yes ProtectKernelTunables=yes; do
    expect_has "unit sets $d" $'\n'"$d" "$u"
done
case_end
expect_has "unit runs otad on its state directory" "--data /var/lib/otad" "$u"
if command -v systemd-analyze >/dev/null; then
    # The unit as make install writes it, with the path of an otad that exists here.
    sed "s#@BINDIR@#$OTA_BIN#g" "$U" >"$WORK/otad.service"
    out=$(systemd-analyze verify --man=no "$WORK/otad.service" 2>&1); rc=$?
    expect_eq "systemd-analyze verify" 0 "$rc"
    expect_eq "systemd-analyze verify: no complaint" "" "$out"
    sc=$(systemd-analyze security --offline=yes "$WORK/otad.service" 2>/dev/null | grep -o 'Overall exposure level.*')
    if [ -n "$sc" ]; then echo "systemd-analyze security: $sc"; fi
else
    skip "systemd-analyze not installed (apt-get install systemd): the unit was not verified"
fi

done_tests
