#!/usr/bin/env bash
# `audit-cli report` end to end, checked against the truth and in a real browser:
#  1. generates a dataset with planted problems (synth --plant: mislabeled, blurred, noisy,
#     duplicate and near-duplicate images, contradicting metadata);
#  2. runs the report on it and requires recall and precision per problem type (the floors
#     below; measured figures are printed);
#  3. renders report.html in headless Chromium (Debian's chromium-headless-shell, installed
#     when missing): the DOM after scripts ran must carry every section, the page's ready
#     mark and no script error, the console no "Uncaught", and the page must reference
#     nothing outside itself; a full-page screenshot is written and its path printed.
#   bash scripts/report-test.sh [OUT_DIR]     (default runs/test-report; needs a release audit-cli)
set -euo pipefail
cd "$(dirname "$0")/.."
export SWIFT_BACKTRACE=enable=no
CLI="${CLI:-$(swift build -c release --show-bin-path)/audit-cli}"
[ -x "$CLI" ] || swift build -c release --product audit-cli >&2
OUT="${1:-runs/test-report}"
rm -rf "$OUT"; mkdir -p "$OUT"
fail() { echo "report-test: $*" >&2; exit 1; }

browser=""
for b in chromium-headless-shell chromium; do command -v "$b" >/dev/null && { browser="$b"; break; }; done
if [ -z "$browser" ]; then
  echo "report-test: installing chromium-headless-shell (Debian) for the browser check" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium-headless-shell fonts-dejavu-core >/dev/null
  browser=chromium-headless-shell
fi

"$CLI" synth --plant --out "$OUT/data" --train 2000 --test 400 2> "$OUT/synth.err" || { cat "$OUT/synth.err"; fail "synth --plant failed"; }
"$CLI" report --data "$OUT/data" --width 8 --epochs 8 --out "$OUT/report" > "$OUT/report.out" 2> "$OUT/report.err" \
  || { tail -n 20 "$OUT/report.err"; fail "report failed"; }
cat "$OUT/report.out"
for f in report.html label-issues.csv quality.csv robustness.csv metadata-verdicts.csv fusion.csv truth-check.csv summary.json model.safetensors; do
  [ -s "$OUT/report/$f" ] || fail "report did not write $f"
done
grep -q "^\[1/5\] training" "$OUT/report.err" || fail "no progress on stderr"

# Recall and precision floors per planted problem, on the median of three training seeds: the
# 8-epoch width-8 model is a chaotic run, and one seed in five can land badly (seed 0 on an AMD
# Zen 5 VM, whose BLAS rounds differently: it left ship and bird confused and flagged 89 clean
# images, precision 0.58, while seeds 1-4 gave 0.98-1.00). The page checked below is seed 0's.
for s in 1 2; do
  "$CLI" report --data "$OUT/data" --width 8 --epochs 8 --seed $s --out "$OUT/report-seed$s" > "$OUT/report-seed$s.out" 2> "$OUT/report-seed$s.err" \
    || { tail -n 20 "$OUT/report-seed$s.err"; fail "report --seed $s failed"; }
done
python3 - "$OUT/report/truth-check.csv" "$OUT/report-seed1/truth-check.csv" "$OUT/report-seed2/truth-check.csv" <<'PY' \
  || fail "a planted problem type was missed"
import csv, math, sys
PROBLEMS = ["mislabeled", "blurred", "noisy", "duplicate", "near_duplicate", "metadata_conflict"]
def num(s):
    # Nothing planted or nothing flagged prints "nan" or "-", which must not pass a floor.
    try:
        v = float(s)
    except (TypeError, ValueError):
        return -1.0
    return -1.0 if math.isnan(v) else v
runs, bad = [], False
for path in sys.argv[1:]:
    rows = {r.get("problem"): r for r in csv.DictReader(open(path))}
    missing = [p for p in PROBLEMS if p not in rows]
    if missing or len(rows) != len(PROBLEMS):
        print(f"report-test: {path}: problem rows {sorted(k for k in rows if k)}, expected {PROBLEMS}"); bad = True
    runs.append(rows)
for name in PROBLEMS:
    got = [r[name] for r in runs if name in r]
    if len(got) != len(runs):
        continue  # reported above
    rec = sorted(num(g["recall"]) for g in got)[len(got) // 2]
    pre = sorted(num(g["precision"]) for g in got)[len(got) // 2]
    floor_r = 0.8 if name == "mislabeled" else 0.9
    floor_p = 0.8 if name == "near_duplicate" else 0.9
    seeds = ", ".join(f"{num(g['recall']):.3f}/{num(g['precision']):.3f}" for g in got)
    print(f"report-test: {name}: median recall {rec:.3f} (floor {floor_r}), precision {pre:.3f} (floor {floor_p}); seeds 0-2 recall/precision {seeds}")
    if any(num(g["planted"]) <= 0 for g in got):
        print(f"report-test: {name}: nothing planted in a run"); bad = True
    if rec < floor_r or pre < floor_p:
        print(f"report-test: {name}: below a floor"); bad = True
sys.exit(1 if bad else 0)
PY

# Self-contained: every src is a data: URI, every href a fragment or a file beside the page,
# and no stylesheet, import or CSS url() that would fetch (the SVG namespace is a name only).
html="$OUT/report/report.html"
if grep -oE "src=['\"][^'\"]*" "$html" | grep -vE "^src=['\"]data:" | grep -q . \
   || grep -oE "href=['\"][^'\"]*" "$html" | grep -E "^href=['\"]([a-z]+:|//|/)" | grep -q . \
   || grep -qiE "<link|@import|url\(" "$html"; then
  fail "report.html references something outside itself"
fi

# The browser: DOM after scripts ran, console messages, and a screenshot.
url="file://$(cd "$OUT/report" && pwd)/report.html"
flags=(--no-sandbox --disable-gpu --hide-scrollbars --run-all-compositor-stages-before-draw --virtual-time-budget=5000)
"$browser" "${flags[@]}" --dump-dom "$url" > "$OUT/dom.html" 2> "$OUT/browser.log" || { cat "$OUT/browser.log"; fail "$browser could not load the page"; }
grep -q 'data-report-ready="1"' "$OUT/dom.html" || fail "the page's script did not finish (no data-report-ready mark)"
# (The attribute, set by the page's error hook; the hook's own source names it in single quotes.)
if grep -q 'data-script-errors="' "$OUT/dom.html"; then grep -o 'data-script-errors="[^"]*"' "$OUT/dom.html" || true; fail "script errors on the page"; fi
if grep -q "Uncaught" "$OUT/browser.log"; then grep "Uncaught" "$OUT/browser.log"; fail "console errors"; fi
# The detector itself: a copy of the page with a broken script must be caught.
sed 's|</main>|</main><script>undefinedFunction();</script>|' "$OUT/report/report.html" > "$OUT/broken.html"
"$browser" "${flags[@]}" --dump-dom "file://$(cd "$OUT" && pwd)/broken.html" > "$OUT/broken-dom.html" 2> "$OUT/broken.log" || true
grep -q 'data-script-errors="Uncaught ReferenceError' "$OUT/broken-dom.html" || fail "the script-error check does not see a broken script"
grep -q "Uncaught" "$OUT/broken.log" || fail "the console check does not see a broken script"
for id in summary labels quality robustness metadata truth files label-grid quality-blurry quality-noisy quality-duplicates metadata-grid truth-table; do
  grep -q "id=\"$id\"" "$OUT/dom.html" || fail "section or element #$id missing from the rendered page"
done
thumbs=$(grep -o "<img class=\"thumb\"" "$OUT/dom.html" | wc -l || true)
[ "$thumbs" -ge 100 ] || fail "only $thumbs thumbnails in the page"
charts=$(grep -o "<svg " "$OUT/dom.html" | wc -l || true)
[ "$charts" -ge 4 ] || fail "only $charts charts in the page"
# Tall enough for the whole page at 1280 px wide.
"$browser" "${flags[@]}" --screenshot="$OUT/report-screenshot.png" --window-size=1280,7000 "$url" >> "$OUT/browser.log" 2>&1 \
  || fail "no screenshot"
[ -s "$OUT/report-screenshot.png" ] || fail "empty screenshot"
# Other ways in: a trained model instead of training (no metadata, no fusion), and a bare
# <class>/ folder without a test split (robustness and fusion skipped, said so on the page).
"$CLI" report --data "$OUT/data" --model "$OUT/report/model.safetensors" --fusion off --show 4 --out "$OUT/report-model" \
  > "$OUT/report-model.out" 2> "$OUT/report-model.err" || { tail -n 5 "$OUT/report-model.err"; fail "report --model failed"; }
grep -q "flip-averaged probabilities of $OUT/report/model.safetensors" "$OUT/report-model/report.html" || fail "report --model: the page does not name the model"
[ ! -e "$OUT/report-model/model.safetensors" ] || fail "report --model wrote a model"
"$CLI" report --data "$OUT/data/test" --width 2 --epochs 1 --show 4 --out "$OUT/report-bare" \
  > "$OUT/report-bare.out" 2> "$OUT/report-bare.err" || { tail -n 5 "$OUT/report-bare.err"; fail "report on a bare class folder failed"; }
grep -q "Skipped: the data has no test split" "$OUT/report-bare/report.html" || fail "report without a test split: no note on the page"
grep -q "No metadata" "$OUT/report-bare/report.html" || fail "report without metadata: no note on the page"
echo "report-test: ok: every planted problem type found, page rendered by $browser ($("$browser" --version 2>/dev/null | head -1)): $thumbs thumbnails, $charts charts, no script error"
echo "report-test: screenshot $OUT/report-screenshot.png ($(wc -c < "$OUT/report-screenshot.png") bytes), page $OUT/report/report.html"
