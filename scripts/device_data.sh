#!/usr/bin/env bash
# What a training call on a lent GPU machine carries (docs/TRAINING.md, "On a lent GPU"): a
# call takes 64 MiB with the working tree, which leaves room for a fourth of "Training data v6"
# packed once the shipped ONNX graphs are moved aside. This writes part PART of PARTS: every
# image whose line number in its set's labels.tsv is PART modulo PARTS, for each of the five
# rendered sets, packed into data/device/train/ (in place of the part written before: a call
# carries one part, and configs/device.yaml names none), less any whose formula is a val
# formula (training there sees only the 500 val images it carries, so it could not leave the
# others out itself); and data/device/val/, the first 500 val images (scored during training,
# never trained on).
#
#   bash scripts/device_data.sh 4 1      # data/device/train (the second fourth) and data/device/val
set -euo pipefail
parts=$1 part=$2
val=../shared/data/im2latex100k/val
out=data/device/train
rm -rf "$out"
mkdir -p "$out"
subset=
trap 'rm -rf "$subset"' EXIT   # the list and link of a set being packed, if packing stops
for set in corpus-third texnet-style texnet-italic corpus-italic texnet-spaced-s2; do
    subset=$(mktemp -d data/device-subset.XXXX)
    awk -F '\t' -v n="$parts" -v r="$part" '
        function key(f) { gsub(/[ \t]+/, " ", f); sub(/^ /, "", f); sub(/ $/, "", f); return f }  # dataset.token_key
        FNR == NR { val[key($2)]; next }
        FNR % n == r && !(key($2) in val)' "$val/labels.tsv" "data/$set/labels.tsv" >"$subset/labels.tsv"
    ln -s "$PWD/data/$set/images" "$subset/images"
    img2latex pack --data "$subset" --out "$out/$set"
    rm -rf "$subset"
done
if [ ! -d data/device/val ]; then
    mkdir -p data/device/val/images
    head -n 500 "$val/labels.tsv" >data/device/val/labels.tsv
    cut -f1 data/device/val/labels.tsv | while read -r name; do cp "$val/images/$name" data/device/val/images/; done
fi
du -sb "$out" data/device/val
