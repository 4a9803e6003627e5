#!/usr/bin/env bash
# tests/bench/summary.sh FILE: the end of `make bench`: the figures the
# benchmarks appended to FILE (tests/bench/summary-row.js; shell benchmarks
# append the same five tab-separated fields), one table, each figure beside
# what it is compared with in the same run (the previous design or a peer)
# and the ratio.  Figures only, never pass/fail.
f=${1:?usage: summary.sh FILE}
[ -s "$f" ] || { echo "bench summary: no figures were recorded ($f)"; exit 0; }
echo
echo "== make bench: summary (every figure measured in this run; ratio = this design / the one beside it)"
awk -F'\t' '
    !($1 in n) { order[++ns] = $1; n[$1] = 0 }
    {
        r = "-";
        if ($4 + 0 > 0 && $5 != "-" && $4 != "-") r = sprintf(($5 / $4 < 0.01) ? "%.5fx" : "%.3fx", $5 / $4);
        rows[$1, ++n[$1]] = sprintf("  %-46s %10s  vs %10s  %-36s %8s", substr($2, 1, 46), $5, $4, substr("(" $3 ")", 1, 36), r)
    }
    END { for (i = 1; i <= ns; i++) { print order[i]; for (j = 1; j <= n[order[i]]; j++) print rows[order[i], j] } }' "$f"
