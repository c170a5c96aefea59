#!/usr/bin/env bash
# audit-cli end to end on generated data: the label audit's two commands, their files, and
# the Python scripts that read them. Called by scripts/test.sh; needs numpy and matplotlib
# in $PY (default python3).
set -euo pipefail
cd "$(dirname "$0")/.."
export SWIFT_BACKTRACE=enable=no
PY="${PY:-python3}"
# The release build (scripts/test.sh has built it by now, so this is a no-op there): the debug
# binary trained the tiny networks here 10-50x slower and made this the longest stage of CI.
swift build -c release --product audit-cli > /dev/null
CLI="$(swift build -c release --show-bin-path)/audit-cli"
T="$(mktemp -d)"
trap 'rm -rf "$T"' EXIT
fail() { echo "cli-test: $*" >&2; exit 1; }
refused() {  # refused EXPECTED-MESSAGE COMMAND...: the command must fail and say why
    local want="$1"; shift
    if "$@" > /dev/null 2> "$T/refused.err"; then fail "accepted: $*"; fi
    grep -q -- "$want" "$T/refused.err" || { cat "$T/refused.err"; fail "no '$want' in the refusal of: $*"; }
}

"$CLI" synth --out "$T/data" --train 400 --test 100 > /dev/null 2>&1

# bench --ab: both settings of a switch give the same pass, so the table must show pairs and
# both latencies (no figure is asserted: this VM's speed moves too much for a bound)
"$CLI" bench --ab winograd-bands --widths 4 --seconds 0.2 > "$T/ab.out" 2> "$T/ab.err" || { cat "$T/ab.err"; fail "bench --ab failed"; }
grep -qE "^ +4 +[0-9]+ +[0-9.]+ +\[[0-9.]+-[0-9.]+\] +[0-9.]+ +[0-9.]+$" "$T/ab.out" || { cat "$T/ab.out"; fail "bench --ab printed no row for width 4"; }
"$CLI" bench --ab adaptive-workers --widths 4 --seconds 0.2 > "$T/ab2.out" 2> "$T/ab2.err" || { cat "$T/ab2.err"; fail "bench --ab adaptive-workers failed"; }
grep -qE "^ +4 +[0-9]+ +[0-9.]+ +\[[0-9.]+-[0-9.]+\] +[0-9.]+ +[0-9.]+$" "$T/ab2.out" || { cat "$T/ab2.out"; fail "bench --ab adaptive-workers printed no row"; }
# a training switch times training steps (width 16 has the 4x4-tile layers the switch changes)
"$CLI" bench --ab winograd-grad-tiles --widths 16 --train-batch 8 --seconds 0.2 > "$T/ab3.out" 2> "$T/ab3.err" || { cat "$T/ab3.err"; fail "bench --ab winograd-grad-tiles failed"; }
grep -q "training step (batch 8)" "$T/ab3.out" && grep -qE "^ +16 +[0-9]+ +[0-9.]+ +\[[0-9.]+-[0-9.]+\] +[0-9.]+ +[0-9.]+$" "$T/ab3.out" \
    || { cat "$T/ab3.out"; fail "bench --ab winograd-grad-tiles printed no training row"; }
# bench --serve (bench/compare.py's measurements): a ready line, one JSON answer per request,
# an error line (not an exit) for a bad request, and the process ends at `quit`
printf 'latency 4 0.05\ninfer 4 nope\nwarp 4 1\ntrain 4 0.05\nquit\ninfer 4 0.05\n' \
    | "$CLI" bench --serve --train-batch 8 --infer-batch 8 > "$T/serve.out" 2> "$T/serve.err" || { cat "$T/serve.err"; fail "bench --serve failed"; }
"$PY" - "$T/serve.out" <<'PYEOF' || { cat "$T/serve.out"; fail "bench --serve answered wrongly"; }
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert rows[0]["ready"] is True, rows[0]
assert [r.get("mode") for r in rows[1:]] == ["latency", None, None, "train"], rows  # nothing after quit
assert rows[1]["width"] == 4 and rows[1]["seconds_per_call"] > 0 and rows[1]["images_per_s"] > 0, rows[1]
assert "expected" in rows[2]["error"] and rows[2]["request"] == "infer 4 nope", rows[2]
assert "unknown measurement 'warp'" in rows[3]["error"], rows[3]
assert abs(rows[4]["images_per_s"] * rows[4]["seconds_per_call"] - 8) < 1e-6, rows[4]
PYEOF
# bench --timeline: every traced pass splits into the same jobs, so the per-job table is there
"$CLI" bench --timeline 20 --widths 16 --threads 2 > "$T/tl.out" 2> "$T/tl.err" || { cat "$T/tl.err"; fail "bench --timeline failed"; }
grep -q "20 traced passes, threads 2" "$T/tl.out" && grep -qE "^ +0 +2 " "$T/tl.out" || { cat "$T/tl.out"; fail "bench --timeline printed no job table"; }

# the study's experiment, with cleaning and its outputs
"$CLI" label-noise --data "$T/data" --width 2 --epochs 3 --noise 0.2 --clean drop --out "$T/ln" > "$T/ln.out" 2> "$T/ln.err" \
    || { cat "$T/ln.err"; fail "label-noise failed"; }
for f in epochs.csv flagged.csv noise.csv dynamics.safetensors summary.json cleaned-epochs.csv; do
    [ -s "$T/ln/$f" ] || fail "label-noise did not write $f"
done
[ "$(grep -c ',1$' "$T/ln/noise.csv")" = 80 ] || fail "noise.csv does not mark exactly 20% of 400 samples"
[ "$(wc -l < "$T/ln/epochs.csv")" = 4 ] || fail "epochs.csv should hold a header and 3 epochs"
grep -q '"cleaned_test_accuracy"' "$T/ln/summary.json" || fail "summary.json lacks the cleaned run"
# Label Wave's prediction changes: printed, in summary.json and one per epoch after the first in epochs.csv
grep -q "prediction changes per epoch: [0-9]* [0-9]*;" "$T/ln.err" || fail "label-noise does not print the prediction changes"
grep -q '"memorization":{"prediction_changes":\[[0-9]*,[0-9]*\],"wave_epoch":' "$T/ln/summary.json" || fail "summary.json lacks the memorization check"
[ "$(awk -F, 'NR > 1 && $(NF-1) != "" {n++} END {print n}' "$T/ln/epochs.csv")" = 2 ] || fail "epochs.csv should give prediction changes for epochs 2 and 3"
(cd bench && "$PY" plot_label_noise.py "$T/ln" > /dev/null) || fail "plot_label_noise.py failed"
# the memorization guard on a late start: this generated data stays at chance for the first
# epochs, which makes a Label Wave epoch, but the final pass still rejects the wrong labels
# (F1 0.91): no memorization, the final pass decides. (The guard before the flagged-count
# test called this memorization and decided on the chance-level epochs: F1 0.46.)
"$CLI" label-noise --data "$T/data" --width 4 --epochs 16 --noise 0.3 --no-augment --label-smoothing 0 --no-test --out "$T/late" \
    > "$T/late.out" 2> "$T/late.err" || { cat "$T/late.err"; fail "label-noise (late start) failed"; }
grep -q '"wave_epoch":[0-9]' "$T/late/summary.json" || fail "the late start made no Label Wave epoch (the check below tests nothing)"
grep -q '"detected":false' "$T/late/summary.json" || fail "the memorization guard fired on a run that rejects the wrong labels"
grep -q "and the final pass flags [0-9]*: no memorization; the decision uses the final pass" "$T/late.err" || fail "no memorization verdict printed"
grep -q "^decision (auto window = last," "$T/late.out" || fail "auto did not resolve to the final pass"
[ -s "$T/ln/entropy_hist.png" ] && [ -s "$T/ln/curves.png" ] || fail "no pictures"

# cleaning at an epoch and training on from that epoch's state (relabel)
"$CLI" label-noise --data "$T/data" --width 2 --epochs 2 --noise 0.2 --clean relabel --clean-epoch 1 --no-test --views 4 --out "$T/ln1" > /dev/null 2> "$T/ln1.err" \
    || { cat "$T/ln1.err"; fail "label-noise --clean-epoch 1 failed"; }
grep -q '"after_epoch":1' "$T/ln1/summary.json" || fail "summary.json does not record the cleaning epoch"
grep -q '"final_pass_views":4' "$T/ln1/summary.json" || fail "label-noise --views 4 did not reach the final pass"
grep -q '"final_pass_views":2' "$T/ln/summary.json" || fail "label-noise's final pass should average 2 views by default"

# cleaning with the finished run's decision, then training on from the audited model, with the
# controls of the same compute: the audited model on its noisy labels, a true-label model trained on
"$CLI" label-noise --data "$T/data" --width 2 --epochs 2 --noise 0.2 --clean soft --teacher-weight 0.5 --clean-from audited \
    --noisy-control --clean-reference --out "$T/lnw" > "$T/lnw.out" 2> "$T/lnw.err" || { cat "$T/lnw.err"; fail "label-noise --clean-from audited failed"; }
grep -q "trained on from the audited model" "$T/lnw.out" || fail "the cleaned run does not say it started from the audited model"
grep -q '"start":"audited"' "$T/lnw/summary.json" || fail "summary.json does not record where the cleaned run started"
grep -q "^noisy control: the audited model trained on for 2 epochs" "$T/lnw.out" || fail "no noisy control run"
grep -q "^reference trained on for 2 epochs" "$T/lnw.out" || fail "the reference was not trained on to the cleaned run's compute"
for k in noisy_control_test_accuracy clean_reference_first_run_test_accuracy clean_reference_test_accuracy; do
    grep -qE "\"$k\":0\.[0-9]+" "$T/lnw/summary.json" || fail "summary.json has no $k"
done
[ "$(wc -l < "$T/lnw/noisy-control-epochs.csv")" = 3 ] || fail "noisy-control-epochs.csv does not have a row per epoch"
for f in reference-epochs.csv reference-on-epochs.csv; do
    [ "$(wc -l < "$T/lnw/$f")" = 3 ] || fail "$f does not have a row per epoch"
done
# the gap figure: present, with each model's 4 epochs, exactly when the true labels beat the noisy control
ref=$(grep -oE '"clean_reference_test_accuracy":[0-9.e-]+' "$T/lnw/summary.json" | cut -d: -f2)
ctl=$(grep -oE '"noisy_control_test_accuracy":[0-9.e-]+' "$T/lnw/summary.json" | cut -d: -f2)
if awk -v r="$ref" -v c="$ctl" 'BEGIN { exit !(r > c) }'; then
    grep -qE '"gap_closed":\{"share":-?[0-9.e-]+,"epochs_per_model":4\}' "$T/lnw/summary.json" || fail "summary.json has no gap_closed for 4 epochs per model"
    grep -q "^gap closed, each model trained 4 epochs: " "$T/lnw.out" || fail "no gap-closed line"
else
    grep -q "^no gap to close: " "$T/lnw.out" || fail "no word on the missing gap figure"
    grep -q '"gap_closed"' "$T/lnw/summary.json" && fail "gap_closed written without a gap"
fi
# a wider auditor than the cleaned model: the audited run at width 4, the cleaned run, the noisy
# control and the reference at width 2, and the gap measured against the width-2 runs
"$CLI" label-noise --data "$T/data" --width 4 --epochs 2 --noise 0.2 --clean soft --teacher-weight 0.5 --clean-width 2 \
    --noisy-control --clean-reference --out "$T/lncw" > "$T/lncw.out" 2> "$T/lncw.err" || { cat "$T/lncw.err"; fail "label-noise --clean-width failed"; }
grep -q "retrained from scratch at width 2, 2 epochs (audited at width 4, 2 epochs)" "$T/lncw.out" || fail "the cleaned run does not say its width"
grep -q '"train_config":{"width":4' "$T/lncw/summary.json" || fail "summary.json does not keep the audited width"
grep -q '"start":"scratch","width":2' "$T/lncw/summary.json" || fail "summary.json does not record the cleaned run's width"
grep -q "^noisy control: a plain run on the noisy labels from scratch, 2 epochs at width 2$" "$T/lncw.out" || fail "no width-2 noisy control"
grep -q "^reference run on the true labels at width 2, 2 epochs$" "$T/lncw.out" || fail "no width-2 reference"
"$PY" - "$T/lncw" <<'PY' || fail "the width-2 models or the gap figure are wrong"
import json, struct, sys
d = sys.argv[1]
def conv1(path):  # the stem's output channels are the width
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        return json.loads(f.read(n))["conv1.weight"]["shape"][0]
assert conv1(d + "/noisy.safetensors") == 4 and conv1(d + "/cleaned.safetensors") == 2
s = json.load(open(d + "/summary.json"))
n, c, r = s["noisy_control_test_accuracy"], s["cleaning"]["cleaned_test_accuracy"], s["clean_reference_test_accuracy"]
if r > n:  # the gap is against the width-2 noisy control, not the width-4 audited run
    assert abs(s["gap_closed"]["share"] - (c - n) / (r - n)) < 1e-9, s["gap_closed"]
else:
    assert "gap_closed" not in s
PY
# an auditor trained longer than the cleaned model: the audited run 4 epochs, the cleaned run,
# the noisy control and the reference 3, and the gap measured against the 3-epoch runs (width 4:
# at width 2 nothing learns on this data, and the gap branch below would never run)
"$CLI" label-noise --data "$T/data" --width 4 --epochs 4 --noise 0.2 --clean soft --teacher-weight 0.5 --clean-epochs 3 \
    --noisy-control --clean-reference --out "$T/lnce" > "$T/lnce.out" 2> "$T/lnce.err" || { cat "$T/lnce.err"; fail "label-noise --clean-epochs failed"; }
grep -q "retrained from scratch at width 4, 3 epochs (audited at width 4, 4 epochs)" "$T/lnce.out" || fail "the cleaned run does not say its epochs"
grep -q '"train_config":{"width":4,"epochs":4' "$T/lnce/summary.json" || fail "summary.json does not keep the audited epochs"
grep -q '"start":"scratch","width":4,"epochs":3' "$T/lnce/summary.json" || fail "summary.json does not record the cleaned run's epochs"
grep -q "^noisy control: a plain run on the noisy labels from scratch, 3 epochs$" "$T/lnce.out" || fail "no 3-epoch noisy control"
grep -q "^reference run on the true labels at width 4, 3 epochs$" "$T/lnce.out" || fail "no 3-epoch reference"
"$PY" - "$T/lnce" <<'PY' || fail "the runs' epochs or the gap figure are wrong"
import json, sys
d = sys.argv[1]
rows = lambda f: len(open(d + "/" + f).read().splitlines()) - 1  # CSV rows: one per epoch
assert rows("epochs.csv") == 4, rows("epochs.csv")
for f in ("cleaned-epochs.csv", "noisy-control-epochs.csv", "reference-epochs.csv"):
    assert rows(f) == 3, (f, rows(f))
s = json.load(open(d + "/summary.json"))
n, c, r = s["noisy_control_test_accuracy"], s["cleaning"]["cleaned_test_accuracy"], s["clean_reference_test_accuracy"]
out = open(d + ".out").read()
if r > n:  # the gap is against the 3-epoch noisy control, not the 4-epoch audited run
    g = s["gap_closed"]
    assert abs(g["share"] - (c - n) / (r - n)) < 1e-9, g
    assert g["epochs_per_model"] == 3 and g["auditor_epochs"] == 4 and g["auditor_width"] == 4, g
    # beside it, the share the 4-epoch auditor closes by itself, without any cleaning
    assert abs(g["auditor_share"] - (s["noisy_test_accuracy"] - n) / (r - n)) < 1e-9, g
    assert "\ngap closed, the cleaned run and its controls at width 4, 3 epochs, the auditor at width 4, 4 epochs: " in out, out
    assert "\nthe auditor itself (width 4, 4 epochs, no cleaning): " in out, out
else:
    assert "gap_closed" not in s
PY
refused "clean-epochs needs --clean" "$CLI" label-noise --data "$T/data" --width 2 --epochs 2 --clean-epochs 1 --out "$T/x"
refused "clean-epochs needs --clean" "$CLI" label-noise --data "$T/data" --width 2 --epochs 2 --clean soft --clean-from audited --clean-epochs 1 --out "$T/x"
refused "clean-epochs needs --clean" "$CLI" label-noise --data "$T/data" --width 2 --epochs 3 --clean soft --clean-epoch 1 --clean-epochs 2 --out "$T/x"
refused "clean-epochs must lie in 1...100000" "$CLI" label-noise --data "$T/data" --width 2 --epochs 2 --clean soft --clean-epochs 0 --out "$T/x"
refused "clean-epochs must lie in 1...100000" "$CLI" label-noise --data "$T/data" --width 2 --epochs 2 --clean soft --clean-epochs 100001 --out "$T/x"
[ -e "$T/x" ] && fail "a refused label-noise made its output folder"
# without --noisy-control the audited run is no baseline for 1-epoch runs: no gap figure, and why
"$CLI" label-noise --data "$T/data" --width 2 --epochs 2 --noise 0.2 --clean soft --clean-epochs 1 --clean-reference \
    --out "$T/lnce1" > "$T/lnce1.out" 2> "$T/lnce1.err" || { cat "$T/lnce1.err"; fail "label-noise --clean-epochs without a control failed"; }
grep -q "^no gap figure: the audited model has width 2, 2 epochs, the cleaned run width 2, 1 epoch; add --noisy-control for a noisy run at width 2, 1 epoch$" "$T/lnce1.out" \
    || fail "no word on the missing noisy side of the gap"
grep -q '"gap_closed"' "$T/lnce1/summary.json" && fail "gap_closed written without a noisy run of the cleaned recipe"
refused "--noisy-control is the control of --clean-from audited" "$CLI" label-noise --data "$T/data" --width 2 --epochs 2 --clean soft --clean-epochs 2 --noisy-control --out "$T/x"
refused "clean-width needs --clean" "$CLI" label-noise --data "$T/data" --width 2 --epochs 2 --clean-width 1 --out "$T/x"
refused "clean-width needs --clean" "$CLI" label-noise --data "$T/data" --width 2 --epochs 2 --clean soft --clean-from audited --clean-width 1 --out "$T/x"
refused "clean-width must lie" "$CLI" label-noise --data "$T/data" --width 2 --epochs 2 --clean soft --clean-width 0 --out "$T/x"
refused "--noisy-control is the control of --clean-from audited" "$CLI" label-noise --data "$T/data" --width 2 --epochs 2 --clean soft --clean-width 2 --noisy-control --out "$T/x"
refused "--noisy-control is the control of --clean-from audited" "$CLI" label-noise --data "$T/data" --width 2 --epochs 2 --clean soft --noisy-control --out "$T/x"
grep -q '"start":"scratch"' "$T/ln/summary.json" || fail "summary.json does not record a cleaned run from scratch"
refused "clean-from audited needs --clean" "$CLI" label-noise --data "$T/data" --width 2 --epochs 2 --clean-from audited --out "$T/x"
refused "clean-from audited needs --clean" "$CLI" label-noise --data "$T/data" --width 2 --epochs 2 --clean drop --clean-epoch 1 --clean-from audited --out "$T/x"

# training on a cleaned subset: labels from a CSV, unlisted images left out
{ echo "path,given_label"; sed -n '2,101p' "$T/ln/noise.csv" | awk -F, '{print $2","$4}'; } > "$T/kept.csv"
"$CLI" train --data "$T/data" --labels "$T/kept.csv" --drop-unlisted --width 2 --epochs 1 --out "$T/kept.safetensors" > /dev/null 2> "$T/kept.err" \
    || { cat "$T/kept.err"; fail "train --labels --drop-unlisted failed"; }
grep -q "training on 100 of 400 images" "$T/kept.err" || fail "train --drop-unlisted did not train on the 100 listed images"
# the same file with Windows line endings and a byte-order mark, as spreadsheets write it
{ printf '\xef\xbb\xbf'; sed 's/$/\r/' "$T/kept.csv"; } > "$T/kept-crlf.csv"
"$CLI" train --data "$T/data" --labels "$T/kept-crlf.csv" --drop-unlisted --width 2 --epochs 1 --out "$T/kept2.safetensors" > /dev/null 2> "$T/kept2.err" \
    || { cat "$T/kept2.err"; fail "a CRLF label file with a BOM was rejected"; }
grep -q "training on 100 of 400 images" "$T/kept2.err" || fail "the CRLF label file gave other labels"

# a user's own folder: flagged CSV, --all, per-class summary
"$CLI" audit-labels --data "$T/data" --width 2 --epochs 2 --dynamics train --folds 2 --out "$T/issues.csv" --all > "$T/al.out" 2> "$T/al.err" \
    || { cat "$T/al.err"; fail "audit-labels failed"; }
head -1 "$T/issues.csv" | grep -q '^rank,index,path,given_label,suggested_label,score,flagged$' || fail "bad CSV header"
[ "$(($(wc -l < "$T/issues.csv") - 1))" = 400 ] || fail "--all should list every sample"
grep -q '^all ' "$T/al.out" || fail "no per-class summary on stdout"

# an existing model audits labels given in a CSV (label-noise's own noise.csv: its noisy labels)
"$CLI" audit-labels --data "$T/data" --no-test --model "$T/ln/noisy.safetensors" --labels "$T/ln/noise.csv" --flip-tta \
    --out "$T/relabel.csv" --all > "$T/m.out" 2> "$T/m.err" || { cat "$T/m.err"; fail "audit-labels --model --labels failed"; }
head -1 "$T/relabel.csv" | grep -q '^rank,index,path' || fail "no CSV from audit-labels --model"
# noise.csv carries the true labels: the audit is scored against them, its CSV marks each row
wrong=$(awk -F, 'NR > 1 && $NF == 1' "$T/ln/noise.csv" | wc -l)
grep -q "^against the true labels ($wrong wrong): ranking score AUROC" "$T/m.out" || fail "audit-labels did not score the audit against noise.csv's true labels"
head -1 "$T/relabel.csv" | grep -q ',true_label,mislabeled$' || fail "the audit CSV lacks the true labels"
[ "$(awk -F, 'NR > 1 { print $2 "," $NF }' "$T/relabel.csv" | sort)" = "$(awk -F, 'NR > 1 { print $1 "," $NF }' "$T/ln/noise.csv" | sort)" ] \
    || fail "the audit CSV's mislabeled column is not noise.csv's"
awk -F, 'BEGIN { print "path,given_label" } NR > 1 { print $2 "," $4 }' "$T/ln/noise.csv" > "$T/given-only.csv"
"$CLI" audit-labels --data "$T/data" --no-test --model "$T/ln/noisy.safetensors" --labels "$T/given-only.csv" \
    --out "$T/given-only-issues.csv" > "$T/go.out" 2> "$T/go.err" || { cat "$T/go.err"; fail "audit-labels with given labels only failed"; }
grep -q "against the true labels" "$T/go.out" && fail "scored against true labels that the file does not have"
head -1 "$T/given-only-issues.csv" | grep -q 'mislabeled' && fail "a CSV without true labels gained a mislabeled column"
# more test-time views: another ranking of the same model (shifted views), and a bad count refused
"$CLI" audit-labels --data "$T/data" --no-test --model "$T/ln/noisy.safetensors" --labels "$T/ln/noise.csv" --views 6 \
    --out "$T/relabel6.csv" --all > /dev/null 2> "$T/m6.err" || { cat "$T/m6.err"; fail "audit-labels --views 6 failed"; }
"$CLI" audit-labels --data "$T/data" --no-test --model "$T/ln/noisy.safetensors" --labels "$T/ln/noise.csv" --flip-tta \
    --out "$T/relabel2.csv" --all > /dev/null 2>&1 || fail "audit-labels --flip-tta --all failed"
[ "$(wc -l < "$T/relabel6.csv")" = "$(wc -l < "$T/relabel2.csv")" ] || fail "--views 6 scored another number of samples"
cmp -s "$T/relabel6.csv" "$T/relabel2.csv" && fail "--views 6 gave the same scores as --flip-tta"
if "$CLI" eval --model "$T/ln/noisy.safetensors" --data "$T/data" --views 3 > /dev/null 2> "$T/v3.err"; then fail "--views 3 accepted"; fi
grep -q "views must be one of 1, 2, 4, 6" "$T/v3.err" || fail "--views 3: unclear error"
# soft relabeling: targets from the audit, a model trained on them
"$CLI" audit-labels --data "$T/data" --no-test --model "$T/ln/noisy.safetensors" --labels "$T/ln/noise.csv" \
    --out "$T/soft.csv" --targets-out "$T/targets.safetensors" --teacher-weight 0.5 > /dev/null 2> "$T/st.err" || { cat "$T/st.err"; fail "audit-labels --targets-out failed"; }
"$CLI" train --data "$T/data" --labels "$T/ln/noise.csv" --targets "$T/targets.safetensors" --width 2 --epochs 1 \
    --out "$T/soft.safetensors" > /dev/null 2> "$T/tt.err" || { cat "$T/tt.err"; fail "train --targets failed"; }
grep -q "soft targets from" "$T/tt.err" || fail "train --targets did not say it used the targets"
# train on from the audited model (--init-from): at learning rate 0 the weights stay the model's
"$CLI" train --data "$T/data" --labels "$T/ln/noise.csv" --targets "$T/targets.safetensors" --width 2 --epochs 1 --lr 0 \
    --init-from "$T/ln/noisy.safetensors" --out "$T/warm.safetensors" > /dev/null 2> "$T/tw.err" || { cat "$T/tw.err"; fail "train --init-from failed"; }
grep -q "starting from the weights of" "$T/tw.err" || fail "train --init-from did not say where it started"
"$CLI" train --data "$T/data" --width 2 --epochs 1 --lr 0 --out "$T/cold.safetensors" > /dev/null 2>&1 || fail "train --lr 0 failed"
(cd bench && "$PY" - "$T/ln/noisy.safetensors" "$T/warm.safetensors" "$T/cold.safetensors" <<'PYEOF'
import sys
import numpy as np
from labelnoise_io import load_safetensors
init, warm, cold = (load_safetensors(p)[0] for p in sys.argv[1:])
w = [k for k in init if k.endswith(".weight") and init[k].ndim == 4]
assert w, "no conv weights"
same = max(float(np.abs(init[k] - warm[k]).max()) for k in w)
other = max(float(np.abs(init[k] - cold[k]).max()) for k in w)
assert same == 0 and other > 1e-3, (same, other)
PYEOF
) || fail "--init-from did not start from the model's weights"
refused "noisy.safetensors: a width-2 model" "$CLI" train --data "$T/data" --width 4 --epochs 1 --init-from "$T/ln/noisy.safetensors" --out "$T/x.safetensors"
# targets for another dataset (100 images, not 400): a clear error naming the file
"$CLI" synth --out "$T/small" --train 100 --test 10 > /dev/null 2>&1
if "$CLI" train --data "$T/small" --targets "$T/targets.safetensors" --width 2 --epochs 1 --out "$T/x.safetensors" > /dev/null 2> "$T/tm.err"; then
    fail "targets for another dataset were accepted"
fi
grep -q "targets.safetensors" "$T/tm.err" || fail "the targets error does not name the file"
if "$CLI" train --data "$T/data" --targets "$T/ln/noise.csv" --width 2 --epochs 1 --out "$T/x.safetensors" > /dev/null 2> "$T/tn.err"; then
    fail "a CSV was accepted as a targets file"
fi
grep -q "noise.csv" "$T/tn.err" || fail "the bad targets file error does not name the file"
# targets made from the noisy labels, used with the folder labels: refused, not silently mixed
if "$CLI" train --data "$T/data" --targets "$T/targets.safetensors" --width 2 --epochs 1 --out "$T/x.safetensors" > /dev/null 2> "$T/tl.err"; then
    fail "targets made from other labels were accepted"
fi
grep -q "other labels" "$T/tl.err" || fail "the label mismatch is not explained"
# online distillation: the audited model as a teacher on every batch, and what it refuses
"$CLI" train --data "$T/data" --labels "$T/ln/noise.csv" --targets "$T/targets.safetensors" --teacher "$T/ln/noisy.safetensors" \
    --teacher-weight 0.5 --width 2 --epochs 1 --out "$T/online.safetensors" > /dev/null 2> "$T/to.err" || { cat "$T/to.err"; fail "train --teacher failed"; }
grep -q "online teacher .*noisy.safetensors (width 2), weight 0.50" "$T/to.err" || fail "train --teacher did not say which teacher it used"
refused "cannot be resumed" "$CLI" train --data "$T/data" --resume "$T/online.safetensors.ckpt" --width 2 --epochs 1 --out "$T/x.safetensors"
refused "cannot be resumed" "$CLI" train --data "$T/data" --resume "$T/online.safetensors.ckpt" --teacher "$T/ln/noisy.safetensors" --width 2 --epochs 1 --out "$T/x.safetensors"
refused "needs --teacher" "$CLI" train --data "$T/data" --teacher-weight 0.5 --width 2 --epochs 1 --out "$T/x.safetensors"
refused "teacher-weight must lie in" "$CLI" train --data "$T/data" --teacher "$T/ln/noisy.safetensors" --teacher-weight 1.5 --width 2 --epochs 1 --out "$T/x.safetensors"
refused "alternatives" "$CLI" train --data "$T/data" --teacher "$T/ln/noisy.safetensors" --self-adaptive-from 1 --width 2 --epochs 1 --out "$T/x.safetensors"
refused "noise.csv" "$CLI" train --data "$T/data" --teacher "$T/ln/noise.csv" --width 2 --epochs 1 --out "$T/x.safetensors"
# an ensemble auditor: one more member trained, its model saved, the decision on the mean
"$CLI" label-noise --data "$T/data" --width 2 --epochs 2 --noise 0.2 --ensemble 2 --clean soft --teacher-weight 0.5 --no-test \
    --out "$T/ens" > "$T/ens.out" 2> "$T/ens.err" || { cat "$T/ens.err"; fail "label-noise --ensemble 2 failed"; }
[ -s "$T/ens/member-2.safetensors" ] || fail "the ensemble's second member was not saved"
grep -q '"ensemble":{"members":2' "$T/ens/summary.json" || fail "summary.json lacks the ensemble"
grep -q '"decision_source":"ensemble"' "$T/ens/summary.json" || fail "summary.json does not say the decision used the ensemble"
grep -q "^ensemble of 2: self-confidence AUROC" "$T/ens.out" || fail "the ensemble's figures are not printed"
# the decision line and summary.json carry the AUROC of the probabilities the decision used (the ensemble's here)
ens_auroc="$(sed -n 's/^ensemble of 2: self-confidence AUROC \([0-9.]*\);.*/\1/p' "$T/ens.out")"
grep -q "^decision (.*): self-confidence AUROC $ens_auroc;" "$T/ens.out" || fail "the decision line's AUROC is not the ensemble's ($ens_auroc)"
grep -q '"decision_auroc_self_confidence":' "$T/ens/summary.json" || fail "summary.json lacks decision_auroc_self_confidence"
# flagged.csv is the ensemble's decision: as many rows as the ensemble flagged
flagged="$(sed -n 's/.*"ensemble":{"members":2,"auroc_self_confidence":[^,]*,"rule":{"flagged":\([0-9]*\).*/\1/p' "$T/ens/summary.json")"
[ -n "$flagged" ] && [ "$(($(wc -l < "$T/ens/flagged.csv") - 1))" = "$flagged" ] || fail "flagged.csv is not the ensemble's decision ($flagged)"
# two trained models audit together (their mean)
"$CLI" audit-labels --data "$T/data" --no-test --model "$T/ens/noisy.safetensors" --model "$T/ens/member-2.safetensors" \
    --labels "$T/ens/noise.csv" --flip-tta --out "$T/ens2.csv" --dynamics-out "$T/ens2.safetensors" > /dev/null 2> "$T/e2.err" \
    || { cat "$T/e2.err"; fail "audit-labels with two --model failed"; }
head -1 "$T/ens2.csv" | grep -q '^rank,index,path' || fail "no CSV from audit-labels with two models"
# audit-labels trains the members itself and saves them on request
"$CLI" audit-labels --data "$T/data" --width 2 --epochs 1 --no-test --ensemble 2 --members-out "$T/mem" --out "$T/ens3.csv" > /dev/null 2> "$T/e3.err" \
    || { cat "$T/e3.err"; fail "audit-labels --ensemble 2 failed"; }
[ -s "$T/mem-2.safetensors" ] || fail "audit-labels --members-out did not save the member"
# stored probabilities from any model decide alone, with either prune filter
for f in by-class by-noise-rate both; do
    "$CLI" audit-labels --data "$T/data" --no-test --probabilities "$T/ens/dynamics.safetensors:ensemble_probabilities" \
        --labels "$T/ens/noise.csv" --filter $f --out "$T/p-$f.csv" > /dev/null 2> "$T/p.err" || { cat "$T/p.err"; fail "audit-labels --probabilities --filter $f failed"; }
done
# (with noise.csv's true labels both carry the true_label and mislabeled columns)
cmp -s "$T/ens/flagged.csv" "$T/p-by-class.csv" \
    || fail "deciding on the stored ensemble probabilities did not reproduce label-noise's flagged.csv"
refused "has shape" "$CLI" audit-labels --data "$T/data" --no-test --probabilities "$T/ens/dynamics.safetensors:given_labels" --out "$T/x.csv"
refused "no tensor 'nope'" "$CLI" audit-labels --data "$T/data" --no-test --probabilities "$T/ens/dynamics.safetensors:nope" --out "$T/x.csv"
refused "stored outputs alone" "$CLI" audit-labels --data "$T/data" --probabilities "$T/ens/dynamics.safetensors" --model "$T/ens/noisy.safetensors" --out "$T/x.csv"
refused "by-class" "$CLI" audit-labels --data "$T/data" --filter sideways --out "$T/x.csv"
refused "alternatives" "$CLI" audit-labels --data "$T/data" --epochs 1 --ensemble 2 --folds 2 --out "$T/x.csv"
refused "need training" "$CLI" audit-labels --data "$T/data" --model "$T/ens/noisy.safetensors" --ensemble 2 --out "$T/x.csv"
refused "same file twice" "$CLI" audit-labels --data "$T/data" --model "$T/ens/noisy.safetensors" --model "$T/ens/noisy.safetensors" --out "$T/x.csv"
refused "clean-epoch" "$CLI" label-noise --data "$T/data" --width 2 --epochs 2 --ensemble 2 --clean drop --clean-epoch 1 --out "$T/x"
refused "at least 1" "$CLI" audit-labels --data "$T/data" --epochs 1 --ensemble 0 --out "$T/x.csv"
refused "rank-by" "$CLI" label-noise --data "$T/data" --epochs 1 --ensemble 2 --rank-by aum --out "$T/x"
refused "window last" "$CLI" label-noise --data "$T/data" --epochs 1 --ensemble 2 --window late --out "$T/x"
refused "self-adaptive" "$CLI" label-noise --data "$T/data" --epochs 2 --ensemble 2 --self-adaptive-from 1 --out "$T/x"
refused "nowhere.safetensors" "$CLI" audit-labels --data "$T/data" --no-test --model "$T/ens/noisy.safetensors" --model "$T/nowhere.safetensors" --out "$T/x.csv"
# self-adaptive training, and soft cleaning, inside the experiment
"$CLI" label-noise --data "$T/data" --width 2 --epochs 3 --noise 0.2 --self-adaptive-from 2 --self-adaptive-momentum 0.7 \
    --clean soft --no-test --out "$T/sat" > "$T/sat.out" 2> "$T/sat.err" || { cat "$T/sat.err"; fail "label-noise --self-adaptive-from --clean soft failed"; }
grep -q "self-adaptive training from epoch 2" "$T/sat.err" || fail "label-noise did not use self-adaptive training"
grep -q '"mode":"soft"' "$T/sat/summary.json" || fail "summary.json lacks the soft cleaning"
grep -q "weighted target mass off the true class" "$T/sat.out" || fail "the soft cleaning does not report its target mass"
if "$CLI" label-noise --data "$T/data" --width 2 --epochs 1 --clean soft --teacher-weight 2 --out "$T/x" > /dev/null 2>&1; then fail "--teacher-weight 2 was accepted"; fi
if "$CLI" label-noise --data "$T/data" --width 2 --epochs 1 --clean drop --teacher-weight 0.5 --out "$T/x" > /dev/null 2>&1; then fail "--teacher-weight without --clean soft was accepted"; fi
if "$CLI" train --data "$T/data" --width 2 --epochs 1 --self-adaptive-momentum 1 --self-adaptive-from 1 --out "$T/x.safetensors" > /dev/null 2>&1; then fail "momentum 1 was accepted"; fi
if "$CLI" train --data "$T/data" --width 2 --epochs 1 --self-adaptive-from 3 --out "$T/x.safetensors" > /dev/null 2>&1; then fail "a self-adaptive start beyond the last epoch was accepted"; fi
# early-learning regularization: in train and in the experiment's audited run, recorded, refused where it cannot work
"$CLI" train --data "$T/data" --width 2 --epochs 1 --elr-weight 3 --elr-momentum 0.6 --out "$T/elr.safetensors" > /dev/null 2> "$T/elr.err" \
    || { cat "$T/elr.err"; fail "train --elr-weight failed"; }
grep -q "early-learning regularization, weight 3.00, momentum 0.60" "$T/elr.err" || fail "train did not use early-learning regularization"
"$CLI" label-noise --data "$T/data" --width 2 --epochs 2 --noise 0.2 --elr-weight 3 --no-test --out "$T/elr" > /dev/null 2> "$T/elr2.err" \
    || { cat "$T/elr2.err"; fail "label-noise --elr-weight failed"; }
grep -q '"elr_weight":3,"elr_momentum":0.7' "$T/elr/summary.json" || fail "summary.json does not record the regularization"
refused "elr-weight must be at least 0" "$CLI" train --data "$T/data" --width 2 --epochs 1 --elr-weight=-1 --out "$T/x.safetensors"
refused "elr-momentum must lie in" "$CLI" train --data "$T/data" --width 2 --epochs 1 --elr-weight 3 --elr-momentum 1 --out "$T/x.safetensors"
refused "cannot be resumed" "$CLI" train --data "$T/data" --width 2 --epochs 2 --elr-weight 3 --resume "$T/elr.safetensors.ckpt" --out "$T/x.safetensors"
refused "elr-weight" "$CLI" label-noise --data "$T/data" --epochs 2 --ensemble 2 --elr-weight 3 --out "$T/x"
# an in-run correction measured in one command: a plain noisy control and the true-label reference
"$CLI" label-noise --data "$T/data" --width 2 --epochs 2 --noise 0.2 --elr-weight 3 --noisy-control --clean-reference --out "$T/elrc" > "$T/elrc.out" 2> "$T/elrc.err" \
    || { cat "$T/elrc.err"; fail "label-noise --elr-weight --noisy-control --clean-reference failed"; }
grep -q "^noisy control: a plain run on the noisy labels from scratch, 2 epochs" "$T/elrc.out" || fail "no plain noisy control for the regularized run"
grep -qE "^(gap closed, each model trained 2 epochs: .*corrected in the run|no gap to close: )" "$T/elrc.out" || fail "no gap figure for the in-run correction"
grep -qE '"noisy_control_test_accuracy":0\.[0-9]+' "$T/elrc/summary.json" || fail "summary.json has no plain noisy control"
refused "noisy-control is the control of" "$CLI" label-noise --data "$T/data" --width 2 --epochs 2 --elr-weight 3 --clean soft --noisy-control --out "$T/x"
refused "elr-momentum needs --elr-weight" "$CLI" train --data "$T/data" --width 2 --epochs 1 --elr-momentum 0.5 --out "$T/x.safetensors"
refused "folds with --elr-weight" "$CLI" label-noise --data "$T/data" --epochs 2 --folds 2 --elr-weight 3 --out "$T/x"
refused "elr-weight with --clean-epoch" "$CLI" label-noise --data "$T/data" --epochs 2 --elr-weight 3 --clean drop --clean-epoch 1 --out "$T/x"
# the checkpoint itself refuses a resume without the regularizer
refused "cannot be resumed" "$CLI" train --data "$T/data" --resume "$T/elr.safetensors.ckpt" --width 2 --epochs 1 --out "$T/x.safetensors"
# a run on soft targets cannot be resumed on one-hot labels
if "$CLI" train --data "$T/data" --resume "$T/soft.safetensors.ckpt" --width 2 --epochs 1 --out "$T/x.safetensors" > /dev/null 2> "$T/rs.err"; then
    fail "a checkpoint of a soft-target run was resumed"
fi
grep -q "cannot be resumed" "$T/rs.err" || fail "the resume refusal is not explained"

printf 'path,label\nnot/there.png,cat\n' > "$T/badlabels.csv"
if "$CLI" audit-labels --data "$T/data" --no-test --model "$T/ln/noisy.safetensors" --labels "$T/badlabels.csv" > /dev/null 2> "$T/bl.err"; then
    fail "a label file missing the dataset's images was accepted"
fi
grep -q "badlabels.csv" "$T/bl.err" || fail "the label-file error does not name the file"

# robustness: the study's sweeps and two suite corruptions on the generated test set
"$CLI" robustness --model "$T/ln/noisy.safetensors" --data "$T/data" --noise 0:0.2:0.1 --blur 0:2:1 --suite cifar10c \
    --only fog,jpeg_compression --out "$T/rob" > "$T/rob.out" 2> "$T/rob.err" || { cat "$T/rob.err"; fail "robustness failed"; }
for f in robustness.csv robustness.json decay-noise.svg decay-blur.svg suite-heatmap.svg; do
    [ -s "$T/rob/$f" ] || fail "robustness did not write $f"
done
# clean + 2 noise + 2 blur + 2 x 5 suite rows, and a header
[ "$(wc -l < "$T/rob/robustness.csv")" = 16 ] || fail "robustness.csv should hold 15 rows"
grep -q "mean corruption accuracy" "$T/rob.out" || fail "no mean corruption accuracy on stdout"
"$PY" - "$T/rob" <<'PYEOF' || fail "robustness outputs disagree"
import csv, json, sys, xml.dom.minidom
d = sys.argv[1]
rows = list(csv.DictReader(open(d + "/robustness.csv")))
j = json.load(open(d + "/robustness.json"))
assert rows[0]["corruption"] == "clean" and abs(float(rows[0]["accuracy"]) - j["clean_accuracy"]) < 1e-9
suite = [r for r in rows if r["family"] not in ("clean", "study")]
mca = sum(float(r["accuracy"]) for r in suite) / len(suite)
assert abs(mca - j["mean_corruption_accuracy"]) < 1e-9, (mca, j["mean_corruption_accuracy"])
for f in ("decay-noise.svg", "decay-blur.svg", "suite-heatmap.svg"):
    xml.dom.minidom.parse(d + "/" + f)  # well-formed
PYEOF
# the same seed, the same figures
"$CLI" robustness --model "$T/ln/noisy.safetensors" --data "$T/data" --noise 0:0.2:0.1 --blur 0:2:1 --suite cifar10c \
    --only fog,jpeg_compression --out "$T/rob2" > /dev/null 2>&1 || fail "robustness rerun failed"
cmp -s <(cut -d, -f1-9 "$T/rob/robustness.csv") <(cut -d, -f1-9 "$T/rob2/robustness.csv") || fail "robustness is not reproducible"
refused "unknown corruption 'snowfall'" "$CLI" robustness --data "$T/data" --model "$T/ln/noisy.safetensors" --suite cifar10c --only snowfall
refused "expected START:END:STEP" "$CLI" robustness --data "$T/data" --model "$T/ln/noisy.safetensors" --noise 0.2:0
refused "unknown suite" "$CLI" robustness --data "$T/data" --model "$T/ln/noisy.safetensors" --suite imagenet-c

# quality: calibrate on the clean training images, then flag noisy copies and a duplicate
"$CLI" quality "$T/data/train" --calibrate "$T/cal.json" > /dev/null 2>&1 || fail "quality --calibrate failed"
grep -q '"robust-quality-calibration"' "$T/cal.json" || fail "no calibration file"
mkdir -p "$T/uploads"
"$PY" - "$T/data/test" "$T/uploads" <<'PYEOF' || fail "could not write the upload images"
import glob, sys, numpy as np
from PIL import Image
src, dst = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(0)
files = sorted(glob.glob(src + "/*/*"))[:40]
for i, f in enumerate(files):
    x = np.asarray(Image.open(f).convert("RGB"), dtype=np.float64) / 255
    if i % 2:
        x = x + rng.normal(0, 0.15, x.shape)
    Image.fromarray(np.uint8(np.clip(x, 0, 1) * 255 + 0.5)).save(f"{dst}/{i:03d}{'-noisy' if i % 2 else ''}.png")
PYEOF
cp "$T/uploads/000.png" "$T/uploads/copy-of-000.png"
set +e
"$CLI" quality "$T/uploads" --calibration "$T/cal.json" --all --out "$T/q.csv" > "$T/q.out" 2> "$T/q.err"
rc=$?
set -e
[ "$rc" = 1 ] || { cat "$T/q.err"; fail "quality should exit 1 when it flags images (got $rc)"; }
[ "$(($(wc -l < "$T/q.csv") - 1))" = 41 ] || fail "quality --all should list all 41 images"
[ "$(grep -c -- '-noisy.png,[a-z_+]*noisy' "$T/q.csv")" -ge 18 ] || fail "quality missed the noisy images"
[ "$(grep -v -- '-noisy.png' "$T/q.csv" | grep -c ',noisy')" -le 2 ] || fail "quality flags clean images as noisy"
grep -q 'copy-of-000.png,[a-z_+]*duplicate' "$T/q.csv" || fail "quality missed the exact duplicate"
refused "not a quality calibration file" "$CLI" quality "$T/uploads" --calibration "$T/q.csv"
# with a model: its prediction entropy calibrated too, an "uncertain" threshold, a model_entropy column
"$CLI" quality "$T/data/train" --model "$T/ln/noisy.safetensors" --calibrate "$T/calm.json" > /dev/null 2>&1 || fail "quality --model --calibrate failed"
grep -q '"uncertain_above"' "$T/calm.json" || fail "no model threshold in the calibration"
"$CLI" quality "$T/uploads" --model "$T/ln/noisy.safetensors" --calibration "$T/calm.json" --all --out "$T/qm.csv" > /dev/null 2>&1 || true
head -1 "$T/qm.csv" | grep -q ',model_entropy$' || fail "no model_entropy column"
refused "no model threshold" "$CLI" quality "$T/uploads" --model "$T/ln/noisy.safetensors" --calibration "$T/cal.json"
"$CLI" score --model "$T/ln/noisy.safetensors" --quality "$T/cal.json" --json "$T/uploads/001-noisy.png" > "$T/score.json" 2>/dev/null || true
grep -q '"noisy"' "$T/score.json" && grep -q '"quality"' "$T/score.json" || fail "score does not review a noisy upload"

# fourier: every frequency of a 32 x 32 image, a heat map
"$CLI" fourier --model "$T/ln/noisy.safetensors" --data "$T/data" --limit 10 --out "$T/f" > "$T/f.out" 2> "$T/f.err" \
    || { cat "$T/f.err"; fail "fourier failed"; }
[ "$(wc -l < "$T/f/fourier.csv")" = 1025 ] || fail "fourier.csv should hold 32 x 32 frequencies"
"$PY" -c "import xml.dom.minidom, sys; xml.dom.minidom.parse(sys.argv[1])" "$T/f/fourier.svg" || fail "fourier.svg is not well-formed"

# fusion: a two-recipe sweep from scratch, staged from a trained encoder (frozen), measuring a saved model
"$CLI" fusion --data "$T/data" --width 2 --epochs 1 --meta-dropout 0,0.5 --out "$T/fu" --save-models > "$T/fu.out" 2> "$T/fu.err" \
    || { cat "$T/fu.err"; fail "fusion failed"; }
[ "$(wc -l < "$T/fu/fusion.csv")" = 3 ] || fail "fusion.csv should hold a header and 2 recipes"
[ "$(wc -l < "$T/fu/epochs.csv")" = 3 ] || fail "epochs.csv should hold a header and 2 recipe-epochs"
grep -q "followed metadata .* / 100 " "$T/fu.out" || fail "the conflict table does not state its denominator"
"$PY" -c "
import json, sys
d = json.load(open(sys.argv[1]))
for r in d['recipes']:
    c = r['conflict']
    assert c['followed_metadata'] + c['followed_image'] + c['neither'] == c['images'] == 100, c
    g = r['gate']
    for k in ('true_claims', 'contradicting_claims'): assert sum(g[k].values()) == 100, g
    assert abs(r['permutation']['metadata_reliance'] - (r['consistent_accuracy'] - r['permutation']['metadata_permuted_accuracy'])) < 1e-9
" "$T/fu/fusion.json" || fail "fusion.json is inconsistent"
"$PY" -c "import xml.dom.minidom, sys; xml.dom.minidom.parse(sys.argv[1])" "$T/fu/fusion.svg" || fail "fusion.svg is not well-formed"
"$CLI" fusion --data "$T/data" --width 2 --epochs 2 --image-model "$T/ln/noisy.safetensors" --freeze-image --meta-agree 0.8 --out "$T/fz" > "$T/fz.out" 2> "$T/fz.err" \
    || { cat "$T/fz.err"; fail "fusion --freeze-image failed"; }
grep -q "plain ResNet-18" "$T/fz.out" || fail "no baseline accuracy from the image model"
"$CLI" fusion --data "$T/data" --model "$T/fu/fusion-agree1-pm0-pi0.safetensors" --out "$T/fm" > "$T/fm.out" 2>/dev/null || fail "fusion --model failed"
grep -q "followed image" "$T/fm.out" || fail "fusion --model printed no conflict table"
"$CLI" score --model "$T/fu/fusion-agree1-pm0-pi0.safetensors" --meta cat "$T/uploads/001-noisy.png" > "$T/fs.out" 2>/dev/null || true
grep -q "fused " "$T/fs.out" || fail "score --meta with a FusionNet does not show the fused prediction"
refused "needs --image-model" "$CLI" fusion --data "$T/data" --freeze-image
refused "comma-separated probabilities" "$CLI" fusion --data "$T/data" --meta-dropout 0,1.5
refused "is not fusionnet-cifar" "$CLI" fusion --data "$T/data" --model "$T/ln/noisy.safetensors"

# bad input: a clear error and a non-zero exit, no crash
if "$CLI" audit-labels --data "$T/nowhere" --epochs 1 > /dev/null 2> "$T/bad.err"; then fail "a missing folder succeeded"; fi
grep -q "nowhere" "$T/bad.err" || fail "the error does not name the folder"
if "$CLI" label-noise --data "$T/data" --noise 1.5 > /dev/null 2>&1; then fail "--noise 1.5 was accepted"; fi
if "$CLI" label-noise --data "$T/data" --kind asymmetric --classes bird,cat --epochs 1 --width 2 --out "$T/x" > /dev/null 2> "$T/asym.err"; then
    fail "asymmetric noise without any CIFAR pair present was accepted"
fi
mkdir -p "$T/one/train" && cp -r "$T/data/train/cat" "$T/one/train/"
if "$CLI" audit-labels --data "$T/one" --epochs 1 --no-test > /dev/null 2> "$T/one.err"; then fail "a one-class dataset was accepted"; fi
grep -q "at least two classes" "$T/one.err" || fail "the one-class error is not clear"
echo "cli-test: passed"
