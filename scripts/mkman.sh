#!/bin/sh
# scripts/mkman.sh man/NAME.SECTION.md BINDIR VERSION > NAME.SECTION
#
# Turns a man page written in a small subset of Markdown into roff:
#   "# TITLE" -> .SH, paragraphs, "- item" lists, ``` code blocks, `code`
#   -> bold, and {{help}} / {{help SUB}} -> the output of `BINDIR/NAME --help`
#   (or `NAME SUB --help`) as a code block, so the options listed are the
#   program's own.  Only sh, sed and awk.
set -eu
src=$1 bindir=$2 version=$3
base=$(basename "$src" .md)
name=${base%.*}
section=${base##*.}
date=$(date -u -d "@${SOURCE_DATE_EPOCH:-$(stat -c %Y "$src")}" +%Y-%m-%d 2>/dev/null || echo "")

# Expand {{help ...}} first.
expanded=$(mktemp)
trap 'rm -f "$expanded"' EXIT
while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in
        '{{help}}')
            echo '```'; "$bindir/$name" --help 2>&1 || true; echo '```' ;;
        '{{help '*'}}')
            sub=${line#\{\{help }; sub=${sub%\}\}}
            echo '```'; "$bindir/$name" "$sub" --help 2>&1 || true; echo '```' ;;
        *) printf '%s\n' "$line" ;;
    esac
done <"$src" >"$expanded"

printf '.TH %s %s "%s" "otasign %s" "otasign"\n' "$(echo "$name" | tr a-z A-Z)" "$section" "$date" "$version"
awk '
function esc(s) {
    gsub(/\\/, "\\e", s)
    gsub(/-/, "\\-", s)
    return s
}
function inline(s,   out, i, parts, n) {
    s = esc(s)
    n = split(s, parts, "`")
    out = parts[1]
    for (i = 2; i <= n; i++) out = out ((i % 2) ? "\\fR" : "\\fB") parts[i]
    if (n % 2 == 0) out = out "\\fR"
    return out
}
function lead(s) { return (s ~ /^[.\047]/) ? "\\&" s : s }
BEGIN { code = 0; para = 0 }
/^```/ {
    if (!code) { print ".PP"; print ".nf"; print ".RS 2"; code = 1 }
    else { print ".RE"; print ".fi"; code = 0 }
    para = 0
    next
}
code { print lead(esc($0)); next }
/^# / { sub(/^# /, ""); print ".SH " toupper($0); para = 0; next }
/^$/ { para = 0; next }
/^- / { sub(/^- /, ""); print ".IP \\(bu 2"; print lead(inline($0)); para = 1; next }
/^  / && para { sub(/^ +/, ""); print lead(inline($0)); next }
{ if (!para) { print ".PP"; para = 1 } print lead(inline($0)) }
' "$expanded"
