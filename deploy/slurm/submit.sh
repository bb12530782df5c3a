#!/bin/bash
# Submits an N-way segmented ntx test to Slurm: the job array, then the merge depending on it.
# usage: deploy/slurm/submit.sh N RES_DIR OUT [SECONDS_UNTIL_START]   (prints the two job ids)
# OUT must be on a file system every node sees; the start barrier is SECONDS_UNTIL_START (default 30)
# from now, on the submitting machine's clock.
set -euo pipefail
if [ $# -lt 3 ]; then
  echo "usage: $0 N RES_DIR OUT [SECONDS_UNTIL_START]" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
n=$1
export RES_DIR=$2 OUT=$3 SEGMENTS=$1
export START_AT=$(( $(date +%s) + ${4:-30} ))
mkdir -p "$OUT"
array=$(sbatch --parsable --array=0-$((n - 1)) --chdir="$OUT" --export=ALL "$here/ntx-segment.sbatch")
array=${array%%;*}
merge=$(sbatch --parsable --dependency=afterany:"$array" --chdir="$OUT" --export=ALL "$here/ntx-merge.sbatch")
echo "array $array, merge ${merge%%;*}, start at $START_AT; the merged report: $OUT/merged/report.json"
