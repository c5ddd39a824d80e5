#!/usr/bin/env bash
# Interleaved fs figures of blastfs before the fs/ reshaping (53466b1) and now
# (Session tool, issue 19: needs /work/pre = a build of the old commit and /work/main/build.)
# (main), each serving the large workload imported by its own blastctl.
set -euo pipefail
T=/var/tmp/blast-bench/workloads/large/env
declare -A B=([pre]=/work/pre/build [new]=/work/main/build)
for v in pre new; do
	rm -rf /var/tmp/fb-$v; mkdir -p /var/tmp/fb-$v/mnt
	${B[$v]}/ctl/blastctl --home /var/tmp/fb-$v/h import big $T >/dev/null
	${B[$v]}/fs/blastfs --home /var/tmp/fb-$v/h big /var/tmp/fb-$v/mnt
done
t() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); echo "$e - $s" | bc; }
stat_walk() { find "$1" -printf '%s\n' | wc -l; }
read_all() { tar -cf - -C "$1" . | wc -c; }
py_import() { MPLCONFIGDIR=/var/tmp/fb-mpl PYTHONDONTWRITEBYTECODE=1 python3 -c "import sys; sys.path.insert(0, '$1/lib/python3.11/site-packages'); import numpy, scipy, pandas, matplotlib, sympy"; }
drop() { sync; echo 3 > /proc/sys/vm/drop_caches; }
for r in 1 2 3; do
	for v in pre new; do
		m=/var/tmp/fb-$v/mnt
		drop; a=$(t stat_walk $m); b=$(t stat_walk $m)
		drop; c=$(t read_all $m); d=$(t read_all $m)
		drop; e=$(t py_import $m); f=$(t py_import $m)
		echo "$r $v stat_cold $a stat_warm $b read_cold $c read_warm $d import_cold $e import_warm $f"
	done
done
for v in pre new; do fusermount3 -u /var/tmp/fb-$v/mnt; done
