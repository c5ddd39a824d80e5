# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Helpers for the policy-bypass tests (policy-*.sh), on top of fs-lib.sh:
# each test runs its routes in both open modes, because blastfs decides at
# the first OPEN whether the kernel opens files itself (no OPEN, no
# RELEASE: "kernel") or asks it ("served": --serve-open, or a policy
# loaded at the first open).
#
#     . "$(dirname "$0")/policy-lib.sh"
#     route() {                          # $1: the mode, $SRC: a fresh dir
#         echo x >"$SRC/secret.txt"
#         pol_mount "$1" "env-$1" "$SRC" # $M mounted, its mode fixed
#         bpol set fs.hidden secret.txt  # blastctl policy env-MODE set ...
#         ...
#         pol_umount
#     }
#     pol_both_modes route              # fs_setup, route kernel, route
#                                        # served, fs_pass

# shellcheck source=tests/integration/fs-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/fs-lib.sh"

# pol_mount MODE NAME SRC: import SRC as env NAME (a fresh copy per mode),
# mount it at $W/mnt-NAME ($M, $POL_ENV), and fix the open mode: a file
# read now (before any policy: SRC/.probe, made here) makes it "kernel";
# --serve-open "served".
pol_mount() {
	local mode=$1 name=$2 src=$3
	POL_ENV=$name
	M=$W/mnt-$name
	[ -e "$src/.probe" ] || echo probe >"$src/.probe"
	fs_import "$name" "$src"
	case $mode in
	kernel) fs_mount "$name" "$M" ;;
	served) fs_mount "$name" "$M" --serve-open ;;
	*) die "pol_mount: mode kernel or served, not $mode" ;;
	esac
	cat -- "$M/.probe" >/dev/null
	pol_mode_is "$mode"
}

# pol_mode_is MODE: fail unless the daemon says opens are MODE.
pol_mode_is() {
	local got
	got=$(bctl status "$POL_ENV" --json |
		"$BLAST_TEST_PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["opens"])') ||
		die "blastctl status $POL_ENV failed"
	assert_eq "$1" "$got" "open mode of $POL_ENV"
}

# bpol ARGS...: blastctl policy $POL_ENV ARGS..., failing the test on error.
bpol() {
	bctl policy "$POL_ENV" "$@" >"$W/run/policy.out" 2>&1 ||
		die "blastctl policy $POL_ENV $*: $(cat "$W/run/policy.out")"
}

# pol_umount: unmount $M, the daemon must exit 0.
pol_umount() {
	fs_umount "$POL_ENV" "$M"
}

# pol_audit_json: `blastctl audit --json` of the env into $OUT.
pol_audit_json() {
	OUT=$(bctl audit "$POL_ENV" --json) || die "blastctl audit $POL_ENV failed"
}

# pol_json EXPR: python EXPR with `j` bound to the JSON in $OUT.
pol_json() {
	"$BLAST_TEST_PYTHON" -c 'import json, sys
j = json.loads(sys.stdin.read())
print(eval(sys.argv[1]))' "$1" <<<"$OUT"
}

# pol_both_modes FN: fs_setup, then FN kernel and FN served, each with a
# fresh empty source dir $SRC; then fs_pass.
pol_both_modes() {
	local mode
	fs_setup
	for mode in kernel served; do
		note "open mode: $mode"
		SRC=$W/src-$mode
		mkdir -p "$SRC"
		"$1" "$mode"
	done
	fs_pass
}
