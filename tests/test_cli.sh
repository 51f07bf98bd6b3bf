#!/usr/bin/env bash
# test_cli.sh - the backprop command of build $BP_BUILD, end to end: every
# command's happy path on small data, every kind of bad argument (exit 2 and
# a message naming the option), every data error (exit 1 with file, line and
# column), the --log and --plot files, exact --resume after SIGINT, same seed
# -> same bytes, and eval's numbers against an independent computation.
# Prints "ok NAME" / "FAIL NAME" per case and "cases: P ok, F failed".
set -u
BUILD=${BP_BUILD:-build/float}
B="$(cd "$(dirname "$BUILD")" && pwd)/$(basename "$BUILD")/bin/backprop"
HERE="$(cd "$(dirname "$0")" && pwd)"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T"
ok=0; failed=0

pass() { echo "ok   $1"; ok=$((ok + 1)); }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }

# expect NAME RC PATTERN command...: the exit status is RC and the output
# (stdout and stderr) matches the extended regex PATTERN ("" for any).
expect() {
    local name=$1 rc=$2 pat=$3; shift 3
    local out got
    out=$("$@" 2>&1); got=$?
    if [ "$got" -ne "$rc" ]; then
        fail "$name" "exit $got, expected $rc: $(head -c 400 <<<"$out")"
    elif [ -n "$pat" ] && ! grep -qE -- "$pat" <<<"$out"; then
        fail "$name" "output does not match /$pat/: $(head -c 400 <<<"$out")"
    else
        pass "$name"
    fi
}

# check NAME command...: the command succeeds (a test written in shell or python).
check() {
    local name=$1; shift
    local out
    if out=$("$@" 2>&1); then pass "$name"; else fail "$name" "$(head -c 400 <<<"$out")"; fi
}

[ -x "$B" ] || { echo "FAIL build: $B is not built"; echo "cases: 0 ok, 1 failed (test_cli.sh)"; exit 1; }

# ------------------------------------------------------------------ data
python3 "$HERE/cli/make_data.py" "$T" || { echo "FAIL data: tests/cli/make_data.py"; exit 1; }

# ---------------------------------------------------------- help, version
expect help 0 "usage: backprop COMMAND" "$B" --help
expect version 0 "backprop [0-9]+\.[0-9]+\.[0-9]+ \((float32|float64)" "$B" --version
expect no-command 2 "usage" "$B"
expect unknown-command 2 "unknown command 'frobnicate'" "$B" frobnicate
for c in train init eval predict gradcheck info demo; do
    expect "help-$c" 0 "usage: backprop $c" "$B" "$c" --help
done
expect help-train-lists-schedule 0 "--lr-step-epochs" "$B" train --help

# ----------------------------------------------------------- happy paths
expect train-xor 0 "saved xor.st" "$B" train --data xor --layers 2,4,1 --act tanh --lr 0.05 \
    --batch 4 --epochs 300 --seed 1 --save xor.st --quiet
expect eval-xor 0 "accuracy 100.00%" "$B" eval --model xor.st --data xor
expect predict-xor 0 "^label,prob_0,prob_1" "$B" predict --model xor.st --data xor
expect train-csv 0 "val loss .* test loss" "$B" train --data iris.csv --test iris_test.csv \
    --layers 4,16,3 --epochs 5 --batch 16 --val-split 0.2 --save iris.st --log iris.jsonl \
    --plot iris.svg
expect train-csv-defaults-xent 0 "4-16-3 relu/softmax xent" "$B" info --model iris.st
expect info-labels 0 "labels +3: setosa, versicolor, virginica" "$B" info --model iris.st
expect info-history 0 "history +5 epochs" "$B" info --model iris.st
expect info-normalize-standard 0 "normalize +standard" "$B" info --model iris.st
expect eval-csv 0 "confusion matrix" "$B" eval --model iris.st --data iris_test.csv
expect eval-csv-per-class 0 "versicolor +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9]+" "$B" eval --model iris.st --data iris_test.csv
check eval-json python3 -c '
import json, subprocess, sys
j = json.loads(subprocess.check_output([sys.argv[1], "eval", "--model", "iris.st", "--data", "iris_test.csv", "--json"]))
assert j["samples"] == 60 and 0 <= j["accuracy"] <= 1, j
assert [c["label"] for c in j["classes"]] == ["setosa", "versicolor", "virginica"]
assert sum(map(sum, j["confusion"])) == 60' "$B"
expect predict-csv-stdout 0 "^label,prob_setosa,prob_versicolor,prob_virginica" "$B" predict --model iris.st --data iris_test.csv
check predict-csv-output bash -c "'$B' predict --model iris.st --data iris_test.csv --output p.csv && test \$(wc -l < p.csv) -eq 61"
check predict-inputs-only bash -c "'$B' predict --model iris.st --data iris_inputs.csv --output q.csv && test \$(wc -l < q.csv) -eq 61 && cmp -s <(cut -d, -f1 p.csv) <(cut -d, -f1 q.csv)"
check predict-rows-are-probabilities python3 -c '
import csv
rows = list(csv.reader(open("p.csv")))[1:]
for r in rows:
    p = [float(v) for v in r[1:]]
    assert abs(sum(p) - 1) < 1e-5, r
    assert r[0] == ["setosa", "versicolor", "virginica"][p.index(max(p))], r'
check log-is-jsonl python3 -c '
import json
lines = open("iris.jsonl").read().splitlines()
assert len(lines) == 5, len(lines)
keys = {"epoch", "train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc", "lr", "seconds", "samples_per_sec"}
for i, l in enumerate(lines):
    o = json.loads(l)
    assert set(o) == keys and o["epoch"] == i + 1 and o["val_loss"] > 0 and o["test_acc"] is not None, o'
check plot-is-svg python3 -c '
import xml.etree.ElementTree as ET
r = ET.parse("iris.svg").getroot()
assert r.tag == "{http://www.w3.org/2000/svg}svg", r.tag
texts = [t.text for t in r.iter("{http://www.w3.org/2000/svg}text")]
assert "loss" in texts and "accuracy" in texts and "validation" in texts and "test" in texts, texts
assert len(list(r.iter("{http://www.w3.org/2000/svg}polyline"))) == 6'
check plot-no-temp-left bash -c '! ls | grep -q "iris.svg."'
expect train-regression 0 "identity mse" "$B" train --data reg.csv --layers 3,16,1 --epochs 20 \
    --batch 16 --save reg.st
expect eval-regression 0 "output +rmse +mse +mae +r2" "$B" eval --model reg.st --data reg.csv
check eval-regression-json python3 -c '
import json, subprocess, sys
j = json.loads(subprocess.check_output([sys.argv[1], "eval", "--model", "reg.st", "--data", "reg.csv", "--json"]))
assert j["accuracy"] is None and len(j["outputs"]) == 1 and j["outputs"][0]["mse"] >= 0, j' "$B"
expect predict-regression 0 "^output" "$B" predict --model reg.st --data reg.csv
expect train-binary-one-output 0 "2-8-1 relu/sigmoid bce" "$B" train --data binary.csv \
    --layers 2,8,1 --epochs 30 --batch 8 --lr 0.01 --save bin.st
expect eval-binary 0 "^1 yes +[0-9]+ +[0-9]+$" "$B" eval --model bin.st --data binary.csv
expect predict-binary 0 "^label,prob_no,prob_yes" "$B" predict --model bin.st --data binary.csv
expect train-target-by-name 0 "saved" "$B" train --data target_first.csv --target kind \
    --layers 2,8,2 --epochs 2 --save tf.st --quiet
expect train-no-header 0 "saved" "$B" train --data noheader.csv --no-header --layers 2,8,2 \
    --epochs 2 --save nh.st --quiet
expect train-idx 0 "normalize global" "$B" train --data idx:imgs.idx.gz,labels.idx --layers 64,32,10 \
    --epochs 3 --batch 32 --save idx.st
expect eval-idx 0 "accuracy" "$B" eval --model idx.st --data idx:imgs.idx.gz,labels.idx
expect train-schedules 0 "lr 0.005 " "$B" train --data iris.csv --layers 4,8,3 --epochs 4 \
    --schedule step --lr 0.05 --lr-step-epochs 2 --lr-gamma 0.1 --save s.st --opt sgd
expect train-cosine-warmup 0 "epoch  1/4 .* lr 0.025 " "$B" train --data iris.csv --layers 4,8,3 \
    --epochs 4 --schedule cosine --warmup-epochs 1 --lr 0.05 --save c.st
expect train-early-stop 0 "saved" "$B" train --data iris.csv --layers 4,8,3 --epochs 6 \
    --val-split 0.25 --early-stop 1 --save es.st --quiet
for opt in sgd momentum nesterov notes-momentum adam adamw rmsprop; do
    expect "train-opt-$opt" 0 "saved" "$B" train --data iris.csv --layers 4,8,3 --epochs 2 \
        --opt "$opt" --clip 5 --weight-decay 1e-4 --save "o-$opt.st" --quiet
done
expect train-init-from 0 "saved" "$B" train --data iris.csv --init-from iris.st --epochs 2 --save if.st --quiet
expect init 0 "saved i.st: 5-7-3 tanh/softmax xent, 66 parameters" "$B" init --layers 5,7,3 --act tanh --save i.st
expect info-init 0 "normalize +none" "$B" info --model i.st
check train-from-init-model-takes-labels-and-normalization bash -c "
    '$B' init --layers 4,8,3 --seed 3 --save i4.st >/dev/null && '$B' train --data iris.csv --init-from i4.st --epochs 2 --save fi.st --quiet >/dev/null &&
    '$B' info --model fi.st | grep -q 'labels *3: setosa' && '$B' info --model fi.st | grep -q 'normalize *standard'"
expect init-from-keeps-normalization 2 "--normalize: the model of --init-from has its own normalization" "$B" train --data iris.csv --init-from iris.st --normalize scale --save u.st
expect gradcheck 0 "^ok" "$B" gradcheck --layers 3,5,4,2 --act tanh,sigmoid --loss xent --batch 3
expect gradcheck-bce 0 "^ok" "$B" gradcheck --layers 3,5,2 --loss bce
expect gradcheck-mse 0 "^ok" "$B" gradcheck --layers 3,5,2 --act leaky_relu --out-act tanh --loss mse --seed 3
expect gradcheck-fails-above-tol 1 "FAIL: largest relative error" "$B" gradcheck --tol 1e-300
expect quiet-prints-summary-only 0 "^trained" "$B" train --data xor --layers 2,3,1 --epochs 2 --save q.st --quiet
check not-a-tty-prints-epoch-lines bash -c "'$B' train --data xor --layers 2,3,1 --epochs 3 --save q.st | grep -c '^epoch' | grep -qx 3"

# Fashion-MNIST: a 600/100-image copy through BP_DATASETS_DIR keeps this fast.
if [ -d datasets/fashion-mnist ]; then
    expect demo-small 0 "demo: Fashion-MNIST test accuracy [0-9.]+% after 1 epochs" \
        env BP_DATASETS_DIR="$T/datasets" "$B" demo --epochs 1 --save fm.st
    expect eval-fashion-labels 0 "Ankle boot" env BP_DATASETS_DIR="$T/datasets" "$B" eval --model fm.st --data fashion-mnist:test
else
    pass "demo-small # skipped: dataset-fashion-mnist not installed"
fi

# ---------------------------------------------- eval against an independent computation
check eval-numbers-independent python3 "$HERE/cli/eval_check.py" "$B" iris.st iris_test.csv
check eval-numbers-known python3 "$HERE/cli/eval_check.py" "$B" known.st known.csv --known

# A model trained here opens in PyTorch and predicts the same (when torch is installed).
torch_py=python3
for p in /usr/bin/python3 python3; do "$p" -c 'import torch' 2>/dev/null && { torch_py=$p; break; }; done
out=$("$torch_py" "$HERE/cli/torch_check.py" "$B" iris.st iris_test.csv 2>&1); rc=$?
if [ $rc -eq 0 ]; then pass "torch-loads-trained-model"; elif [ $rc -eq 77 ]; then pass "torch-loads-trained-model # skipped: no torch";
else fail torch-loads-trained-model "$out"; fi

# ------------------------------------------------- determinism, resume
TR="--data iris.csv --layers 4,16,3 --epochs 3 --batch 16 --val-split 0.2 --seed 5"
check same-seed-same-bytes bash -c "'$B' train $TR --save d1.st --quiet && '$B' train $TR --save d2.st --quiet && cmp d1.st d2.st"
check other-seed-other-bytes bash -c "'$B' train $TR --seed 6 --save d3.st --quiet; ! cmp -s d1.st d3.st"
for at in 7 15 12; do # mid-epoch 1, mid-epoch 2, the last batch of epoch 1 (12 batches per epoch)
    check "resume-exact-after-batch-$at" bash -c "
        BACKPROP_TEST_SIGINT_AT=$at '$B' train $TR --early-stop 2 --save r$at.st --quiet 2>err; test \$? -eq 130 &&
        grep -q 'checkpoint saved to r$at.st.ckpt' err && test ! -e r$at.st &&
        '$B' train $TR --early-stop 2 --save e.st --quiet >/dev/null &&
        '$B' train --resume r$at.st.ckpt --save r$at.st --quiet >/dev/null && cmp e.st r$at.st"
done
check resume-exact-after-three-interruptions bash -c "
    BACKPROP_TEST_SIGINT_AT=7 '$B' train $TR --early-stop 3 --save t3.st --quiet 2>/dev/null; test \$? -eq 130 &&
    BACKPROP_TEST_SIGINT_AT=10 '$B' train --resume t3.st.ckpt --save t3.st --quiet 2>/dev/null; test \$? -eq 130 &&
    BACKPROP_TEST_SIGINT_AT=12 '$B' train --resume t3.st.ckpt --save t3.st --quiet 2>/dev/null; test \$? -eq 130 &&
    '$B' train $TR --early-stop 3 --save t0.st --quiet >/dev/null &&
    '$B' train --resume t3.st.ckpt --save t3.st --quiet >/dev/null && cmp t0.st t3.st"
# Early stopping (the trainer's, with its best weights inside the checkpoint) under a cosine
# schedule with warmup, interrupted mid-epoch 3 and again mid-epoch 21 (after the best epoch
# 19, patience partly spent): the bytes of the unbroken run, which stops after epoch 22.
ES="--data iris.csv --layers 4,16,3 --batch 16 --seed 5 --epochs 30 --val-split 0.25 --early-stop 3 --schedule cosine --warmup-epochs 2 --lr 0.03 --quiet"
check resume-exact-early-stop-cosine bash -c "
    '$B' train $ES --save es0.st >/dev/null &&
    BACKPROP_TEST_SIGINT_AT=29 '$B' train $ES --save es1.st 2>/dev/null; test \$? -eq 130 &&
    BACKPROP_TEST_SIGINT_AT=217 '$B' train --resume es1.st.ckpt --save es1.st --quiet 2>/dev/null; test \$? -eq 130 &&
    test ! -e es1.st.ckpt.best && '$B' train --resume es1.st.ckpt --save es1.st --quiet >/dev/null &&
    cmp es0.st es1.st"
# A checkpoint of backprop 0.1 (float32), interrupted in epoch 20 of an --early-stop 2 run whose
# best epoch was 18, with its best weights beside it in CKPT.best: resumes to the unbroken run's
# model up to the last bits. Its first 20 epochs were 0.1's arithmetic: OpenBLAS's sums, of its
# Haswell kernels, and glibc's expf in softmax, where this build takes the correctly rounded exp
# (since 2026-12-06): where an expf was not correctly rounded the bits part (on a Zen 5 core from
# epoch 8: the resumed and unbroken models' probabilities within 1.8e-7, the same labels). A
# BLAS=none build (the own GEMM), or OpenBLAS running other kernels (an unset OPENBLAS_CORETYPE
# on a core it does not know: tests/cli/openblas_core.py), sums otherwise from the first epoch,
# and may stop early at another epoch: it resumes the checkpoint to a model.
if "$B" --version | grep -q float64; then pass "resume-0.1-checkpoint # skipped: a float32 checkpoint"
elif case "$BUILD" in *-noblas*) true ;; *) false ;; esac ||
     [ "$(python3 "$HERE/cli/openblas_core.py")" != Haswell ]; then check resume-0.1-checkpoint-other-sums bash -c "
    cp '$HERE/data/checkpoint-v0.1-early-stop.ckpt' '$HERE/data/checkpoint-v0.1-early-stop.ckpt.best' . &&
    '$B' train --resume checkpoint-v0.1-early-stop.ckpt --threads 1 --save v1.st --quiet >/dev/null &&
    '$B' info --model v1.st | grep -q '4-16-3'"
else check resume-0.1-checkpoint bash -c "
    cp '$HERE/data/checkpoint-v0.1-early-stop.ckpt' '$HERE/data/checkpoint-v0.1-early-stop.ckpt.best' . &&
    '$B' train --data iris.csv --layers 4,16,3 --batch 16 --seed 5 --epochs 30 --val-split 0.25 \
        --early-stop 2 --lr 0.05 --threads 1 --save v0.st --quiet >/dev/null &&
    '$B' train --resume checkpoint-v0.1-early-stop.ckpt --threads 1 --save v1.st --quiet >/dev/null &&
    '$B' predict --model v0.st --data iris_test.csv > p0.csv &&
    '$B' predict --model v1.st --data iris_test.csv > p1.csv &&
    paste -d, p0.csv p1.csv | awk -F, 'NR > 1 { if (\$1 != \$5) exit 1
        for (i = 2; i <= 4; i++) { d = \$i - \$(i + 4); if (d > 1e-5 || d < -1e-5) exit 1 } }
        END { if (NR != 61) exit 1 }'"
fi
check resume-log-has-every-epoch bash -c "
    BACKPROP_TEST_SIGINT_AT=20 '$B' train $TR --save rl.st --log rl.jsonl --quiet 2>/dev/null; test \$? -eq 130 &&
    '$B' train --resume rl.st.ckpt --save rl.st --log rl.jsonl --quiet >/dev/null &&
    test \$(wc -l < rl.jsonl) -eq 3"
check resume-run-from-init-from-with-momentum bash -c "
    A='--data iris.csv --init-from iris.st --opt momentum --momentum 0.8 --lr 0.01 --epochs 3 --batch 16'
    BACKPROP_TEST_SIGINT_AT=20 '$B' train \$A --save ri.st --quiet 2>/dev/null; test \$? -eq 130 &&
    '$B' train \$A --save ri1.st --quiet >/dev/null &&
    '$B' train --resume ri.st.ckpt --opt momentum --momentum 0.8 --save ri.st --quiet >/dev/null && cmp ri.st ri1.st"
expect resume-info-checkpoint 0 "state +checkpoint after 1 epochs and 8 batches" "$B" info --model rl.st.ckpt
expect resume-refuses-changed-setting 2 "--lr 0.5 differs from the checkpoint" "$B" train --resume rl.st.ckpt --lr 0.5 --save x.st
expect resume-missing 2 "--resume: no such file 'nope.ckpt'" "$B" train --resume nope.ckpt --save x.st
for sig in INT TERM; do
    check "signal-$sig-saves-checkpoint" bash -c "
        '$B' train --data idx:imgs.idx.gz,labels.idx --layers 64,32,10 --epochs 1000000 --batch 1 \
            --save sig.st --quiet 2>/dev/null & pid=\$!
        sleep 0.7; kill -$sig \$pid; wait \$pid; rc=\$?
        test \$rc -eq 130 && '$B' info --model sig.st.ckpt | grep -q 'checkpoint after'"
done

# ------------------------------------------------------- usage errors: exit 2, naming the option
bad() { # NAME PATTERN args... (train args get --data/--layers/--save added unless given)
    local name=$1 pat=$2; shift 2
    expect "usage-$name" 2 "$pat" "$B" "$@"
}
TD="--data iris.csv --save u.st"
bad lr-not-number "--lr: expected a number > 0, got 'abc'" train $TD --layers 4,3 --lr abc
bad lr-zero "--lr: expected a number > 0" train $TD --layers 4,3 --lr 0
bad lr-negative "--lr: expected" train $TD --layers 4,3 --lr -1
bad lr-nan "--lr: expected" train $TD --layers 4,3 --lr nan
bad lr-inf "--lr: expected" train $TD --layers 4,3 --lr inf
bad lr-underflow "--lr: expected" train $TD --layers 4,3 --lr 1e-400
bad lr-trailing "--lr: expected" train $TD --layers 4,3 --lr 0.1x
bad lr-space "--lr: expected" train $TD --layers 4,3 --lr " 0.1"
bad lr-empty "--lr: expected" train $TD --layers 4,3 --lr=
bad lr-missing "--lr needs a value" train $TD --layers 4,3 --lr
bad lr-missing-before-option "--lr needs a value" train $TD --layers 4,3 --lr --epochs 3
bad batch-zero "--batch: expected an integer in 1\.\.10000000" train $TD --layers 4,3 --batch 0
bad batch-fraction "--batch: expected an integer" train $TD --layers 4,3 --batch 1.5
bad batch-huge "--batch: expected an integer" train $TD --layers 4,3 --batch 99999999999999999999999
bad epochs-negative "--epochs: expected an integer" train $TD --layers 4,3 --epochs -3
bad seed-negative "--seed: expected an integer in 0\.\.18446744073709551615" train $TD --layers 4,3 --seed -1
bad seed-overflow "--seed: expected" train $TD --layers 4,3 --seed 18446744073709551616
bad threads-range "--threads: expected an integer in 0\.\.1024" train $TD --layers 4,3 --threads 5000
bad opt-unknown "--opt: expected one of sgd, momentum, nesterov, notes-momentum, adam, adamw, rmsprop, got 'foo'" train $TD --layers 4,3 --opt foo
bad loss-unknown "--loss: expected one of mse, bce, xent" train $TD --layers 4,3 --loss hinge
bad out-act-unknown "--out-act: expected one of" train $TD --layers 4,3 --out-act gelu
bad act-unknown "--act: expected identity, sigmoid, tanh, relu or leaky_relu" train $TD --layers 4,8,3 --act gelu
bad act-softmax-hidden "--act: expected" train $TD --layers 4,8,3 --act softmax
bad act-list-bad "--act: expected" train $TD --layers 4,8,8,3 --act relu,,tanh
bad act-count "--act: 3 activations for 2 hidden layers" train $TD --layers 4,8,8,3 --act relu,tanh,relu
bad init-unknown "--init: expected one of auto, xavier, he, small" train $TD --layers 4,3 --init zero
bad normalize-unknown "--normalize: expected one of none, scale, standard" train $TD --layers 4,3 --normalize minmax
bad schedule-unknown "--schedule: expected one of none, step, cosine, warmup" train $TD --layers 4,3 --schedule exp
bad layers-one "--layers: expected 2 to 33 comma-separated sizes" train $TD --layers 4
bad layers-empty-item "--layers: expected" train $TD --layers 4,,3
bad layers-zero "--layers: expected" train $TD --layers 4,0,3
bad layers-letters "--layers: expected" train $TD --layers a,b
bad layers-trailing-comma "--layers: expected" train $TD --layers 4,3,
bad layers-too-wide "--layers: expected" train $TD --layers 4,16777217,3
bad layers-vs-data-inputs "--data has 4 inputs per sample but --layers starts with 5" train $TD --layers 5,3
bad layers-vs-data-classes "--data has 3 classes but --layers ends with 4" train $TD --layers 4,4
bad val-split-one "--val-split: expected a number in \[0, 1\)" train $TD --layers 4,3 --val-split 1
bad val-split-negative "--val-split: expected" train $TD --layers 4,3 --val-split -0.1
bad momentum-one "--momentum: expected a number in \[0, 1\)" train $TD --layers 4,3 --opt momentum --momentum 1
bad momentum-not-used "--momentum is not used by --opt adam" train $TD --layers 4,3 --momentum 0.5
bad beta1-not-used "--beta1 is not used by --opt sgd" train $TD --layers 4,3 --opt sgd --beta1 0.8
bad eps-range "--eps: expected a number in \(0, 1\]" train $TD --layers 4,3 --eps 0
bad weight-decay-negative "--weight-decay: expected a number >= 0" train $TD --layers 4,3 --weight-decay -1
bad clip-negative "--clip: expected a number >= 0" train $TD --layers 4,3 --clip -2
bad gamma-without-step "--lr-gamma is not used by --schedule none" train $TD --layers 4,3 --lr-gamma 0.5
bad gamma-range "--lr-gamma: expected a number in \(0, 1\]" train $TD --layers 4,3 --schedule step --lr-gamma 2
bad warmup-too-long "--warmup-epochs 10 must be less than --epochs 10" train $TD --layers 4,3 --epochs 10 --warmup-epochs 10
bad early-stop-needs-val "--early-stop needs --val-split" train $TD --layers 4,3 --early-stop 3
bad xent-needs-softmax "--loss xent needs --out-act softmax \(got sigmoid\)" train $TD --layers 4,3 --loss xent --out-act sigmoid
bad bce-needs-sigmoid "--loss bce needs --out-act sigmoid" train $TD --layers 4,3 --loss bce --out-act identity
bad xent-one-output "--loss xent needs at least 2 outputs" init --layers 4,1 --loss xent --save u.st
bad init-from-with-layers "--layers cannot be combined with --init-from" train $TD --init-from iris.st --layers 4,3
bad resume-with-init-from "--init-from and --resume exclude each other" train --resume iris.st --init-from iris.st --save u.st
bad unknown-option "unknown option '--learning-rate'" train $TD --layers 4,3 --learning-rate 0.1
bad flag-with-value "--quiet takes no value" train $TD --layers 4,3 --quiet=yes
bad positional "unexpected argument 'extra'" train $TD --layers 4,3 extra
bad single-dash "unexpected argument '-lr'" train $TD --layers 4,3 -lr 0.1
bad train-needs-save "--save FILE is required" train --data iris.csv --layers 4,3
bad train-needs-data "--data SPEC is required" train --layers 4,3 --save u.st
expect train-default-hidden 0 "one hidden layer of 100 units and xavier weights, the default" "$B" train --data iris.csv --save u.st --epochs 1
bad data-unknown-spec "--data: unknown data set \"nosuchspec\"" train --data nosuchspec --layers 4,3 --save u.st
bad eval-needs-model "--model FILE is required" eval --data iris.csv
bad eval-needs-data "--data SPEC is required" eval --model iris.st
bad eval-json-value "--json takes no value" eval --model iris.st --data iris.csv --json=1
bad predict-batch "--batch: expected an integer" predict --model iris.st --data iris.csv --batch 0
bad init-needs-layers "--layers N,N,... is required" init --save u.st
bad init-needs-save "--save FILE is required" init --layers 3,2
bad info-needs-model "--model FILE is required" info
bad gradcheck-tol "--tol: expected a number > 0" gradcheck --tol 0
bad gradcheck-step "--step: expected a number in \(0, 1\]" gradcheck --step 2
bad gradcheck-unknown-for-command "unknown option '--save'" gradcheck --save x
bad demo-unknown-option "unknown option '--layers'" demo --layers 3,4
bad demo-epochs "--epochs: expected an integer" demo --epochs 0

# ------------------------------------------------------- runtime errors: exit 1
expect data-missing-file 2 "--data: no such file 'missing.csv'" "$B" train --data missing.csv --layers 4,3 --save u.st
expect data-ragged-row 1 "ragged.csv:3:[0-9]+: .*expected 3 fields, got 2" "$B" train --data ragged.csv --layers 2,2 --save u.st
expect data-not-a-number 1 "notnum.csv:3:3: .*(not a number|number)" "$B" train --data notnum.csv --layers 2,2 --save u.st
expect data-nan 1 "nan.csv:2:1: .*(finite|NaN|nan)" "$B" train --data nan.csv --layers 2,2 --save u.st
expect data-empty-file 1 "empty.csv: .*empty" "$B" train --data empty.csv --layers 2,2 --save u.st
expect data-header-only 1 "header.csv: " "$B" train --data header.csv --layers 2,2 --save u.st
expect data-error-in-test-set 1 "--test: ragged.csv:3:" "$B" train --data iris.csv --test ragged.csv --layers 4,3 --save u.st
expect data-error-in-eval 1 "--data: notnum.csv:1: no column \"u\" in the header" "$B" eval --model bin.st --data notnum.csv
expect data-error-in-predict 1 "nan.csv:1: no column \"u\"" "$B" predict --model bin.st --data nan.csv
expect eval-unknown-label 1 "iris_bad_label.csv:[0-9]+:[0-9]+: .*daisy" "$B" eval --model iris.st --data iris_bad_label.csv
expect eval-model-missing 2 "--model: no such file 'nope.st'" "$B" eval --model nope.st --data iris.csv
expect eval-model-not-safetensors 1 "--model: " "$B" eval --model iris.csv --data iris.csv
check eval-model-flipped-byte bash -c "cp iris.st flip.st && printf '\\377' | dd of=flip.st bs=1 seek=\$((\$(stat -c %s flip.st) - 3)) conv=notrunc 2>/dev/null &&
    '$B' eval --model flip.st --data iris.csv 2>&1 | grep -q 'checksum mismatch'"
expect eval-wrong-inputs 1 "iris_narrow.csv:1: no column \"c\" in the header: the model takes it as an input" "$B" eval --model iris.st --data iris_narrow.csv
expect init-from-wrong-data 1 "iris_narrow.csv:1: no column \"c\" in the header" "$B" train --data iris_narrow.csv --init-from iris.st --save u.st
expect save-unwritable 1 "--save: .*nodir/x.st" "$B" train --data xor --layers 2,2,1 --epochs 1 --save nodir/x.st
expect log-unwritable 1 "--log: nodir/l.jsonl" "$B" train --data xor --layers 2,2,1 --epochs 1 --save x.st --log nodir/l.jsonl
expect plot-unwritable 1 "--plot: .*nodir/p.svg" "$B" train --data xor --layers 2,2,1 --epochs 1 --save x.st --plot nodir/p.svg
expect numeric-blowup 1 "epoch [12], batch [0-9]+: .*(lower learning rate|not finite|NaN|nan|inf)" "$B" train --data reg.csv --layers 3,64,64,1 --act identity --opt sgd --lr 1e200 --epochs 2 --save u.st --normalize none

echo "cases: $ok ok, $failed failed (test_cli.sh, $(basename "$BUILD"))"
[ "$failed" -eq 0 ]
