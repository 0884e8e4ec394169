#!/usr/bin/env bash
# The evidence runs of docs/SCALE-OUT.md: the shipped US recipe (the Node 3-seed records' spec: size s, DRO tau 0.1 radius 0.03 tail mix 0.02, no time head), 3 seeds × 1 and 2 processes.
# Resumable: a run whose record exists is skipped. Run from anywhere; logs to stdout (nohup trainer/evidence.sh > runs/torch/evidence.log &).
set -u
cd "$(dirname "$0")/.."
mkdir -p runs/torch results/torch-runs
for seed in 0 1 2; do
  for np in 1 2; do
    name=us-dro-tau0.1-radius0.03-tailMix0.02-s-np$np-s$seed
    [ -f results/torch-runs/$name.json ] && continue
    echo "=== $name $(date -u +%FT%TZ) load: $(cut -d' ' -f1-3 /proc/loadavg)"
    nice -n 10 /usr/bin/python3 -m trainer.pretrain --region us --size s --objective dro --tau 0.1 --dro-radius 0.03 --dro-tail-mix 0.02 \
      --no-time-head --seed $seed --nproc $np --threads 1 --out runs/torch/$name --fp32-out runs/torch/$name-fp32 \
      --name $name --record results/torch-runs/$name.json
    echo "=== done $name $(date -u +%FT%TZ) load: $(cut -d' ' -f1-3 /proc/loadavg)"
  done
done
