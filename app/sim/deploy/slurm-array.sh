#!/bin/bash
# A Monte Carlo batch as a Slurm job array: 8 tasks, each running one shard of 256 runs
# (32 seeds at each of 8 sweep points). `--shards 8` takes the task's shard index from
# SLURM_ARRAY_TASK_ID less SLURM_ARRAY_TASK_MIN, so --array=0-7 and --array=1-8 both work.
# Every task writes under results/runs/ (a shared filesystem); combine them after:
#
#   mkdir -p results/logs   # Slurm opens the --output files before the script runs
#   jobid=$(sbatch --parsable app/sim/deploy/slurm-array.sh)
#   sbatch --dependency=afterok:$jobid --wrap "target/sim/sim merge --out results/report results"
#
#SBATCH --job-name=ballast-sim
#SBATCH --array=0-7
#SBATCH --cpus-per-task=2
#SBATCH --mem=4G
#SBATCH --time=12:00:00
#SBATCH --output=results/logs/shard-%a.log

set -euo pipefail
exec target/sim/sim \
  --scenario csv:data/sol-daily.csv --interpolate bridge \
  --runs 32 --seed 1 \
  --sweep SOL.maint_asset_weight_bps=8500,9000,9500,9700 \
  --sweep market.liquidation_bonus_bps=300,500 \
  --shards 8 --jobs "${SLURM_CPUS_PER_TASK:-2}" --out results
