#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Completions, driven in the real shells: bash (the function with
# COMP_LINE/COMP_POINT, and `complete -p`), zsh (compinit binds it; the
# function's compadd calls captured) and fish (`complete -C`) offer
# commands, a command's options, env names and snapshot names from the
# store named by --home, ENV@SNAP refs, and the same for `blast`.
set -euo pipefail
. "$(dirname "$0")/ctl-lib.sh"
require_python
require_cmd zsh
require_cmd fish
ctl_setup
C=$(cd "$(dirname "$BLASTCTL")/../shell/completion" && pwd)
export BLAST_COMPLETE_HELPER=$BLAST_REPO/shell/completion/complete.bash
mkdir -p "$W/bin"
ln -s "$BLASTCTL" "$W/bin/blastctl"
export PATH=$W/bin:$PATH

ctl_expect 0 create alpha --python "$BLAST_TEST_PYTHON"
ctl_expect 0 create beta --from alpha
ctl_expect 0 save alpha snap1
ctl_expect 0 save alpha snap2
ctl_expect 0 save beta other

comp_bash() {
	bash --norc --noprofile -c '. "$1"; COMP_LINE=$2; COMP_POINT=${#2}
		_blastctl; printf "%s\n" "${COMPREPLY[@]}"' _ "$C/blastctl" "$1" | sort
}
comp_zsh() {
	# the words before the cursor, then the prefix being completed
	zsh -f -c 'fpath=("$1" $fpath); autoload -Uz _blastctl
		compadd() { shift ${@[(i)--]}; print -l -- "$@"; }
		words=(${(z)2}); [[ $2 == *" " ]] && words+=("")
		CURRENT=${#words}; PREFIX=$words[CURRENT]
		_blastctl' _ "$C" "$1" | sort
}
comp_fish() {
	fish --no-config -c 'source $argv[1]; complete -C $argv[2]' "$C/blastctl.fish" "$1" |
		cut -f1 | sort
}

# check LINE WANT...: every shell offers exactly WANT (sorted, one a line).
check() {
	local line=$1 want sh got
	shift
	want=$(printf '%s\n' "$@" | sort)
	for sh in bash zsh fish; do
		got=$("comp_$sh" "$line")
		assert_eq "$want" "$got" "$sh completing [$line]"
	done
}
# check_has LINE WANT...: every shell offers at least WANT.
check_has() {
	local line=$1 sh got w
	shift
	for sh in bash zsh fish; do
		got=$("comp_$sh" "$line")
		for w in "$@"; do
			grep -qx -- "$w" <<<"$got" || die "$sh completing [$line]: no [$w] in [$got]"
		done
	done
}

check "blastctl sn" snapshots
check "blastctl --home $H rm" rm-snapshot
check_has "blastctl " init start kill save load undo snapshots export help
check_has "blastctl --" --home --json --help --version
check_has "blastctl start --" --dir --python --attach --help
check "blastctl save -" -m --message --help
check "blastctl --home $H status " alpha beta
check_has "blastctl --home $H load alpha " snap1 snap2
check "blastctl --home $H load alpha snap" snap1 snap2
check "blastctl --home $H diff beta o" other
check "blastctl --home $H destroy b" beta
check "blastctl help shell-" shell-init
check "blastctl shell-init " bash zsh sh dash fish pwsh nu csh tcsh
check "blastctl run --net " filtered host loopback none
check "blastctl --home $H top " alpha beta
check_has "blast --home $H st" start status
# ENV@SNAP: bash replaces what follows the '@' (COMP_WORDBREAKS)
for sh in zsh fish; do
	assert_eq "alpha@snap1
alpha@snap2" "$("comp_$sh" "blastctl --home $H export alpha@s")" "$sh: export alpha@s"
	assert_eq "alpha@snap2" "$("comp_$sh" "blastctl --home $H create x --from alpha@snap2")" "$sh: --from"
done
assert_eq "snap1
snap2" "$(comp_bash "blastctl --home $H export alpha@s")" "bash: export alpha@s"
assert_eq "alpha" "$(comp_bash "blastctl --home $H create x --from al")" "bash: --from al"
# Another store, another list: names come from the --home given.
check "blastctl --home $W/none status " 

# The shells bind the functions the way they load completions.
got=$(bash --norc -c '. "$1"; complete -p blastctl blast' _ "$C/blastctl")
assert_contains "$got" "complete -F _blastctl blastctl" "bash: complete -p"
got=$(zsh -f -c 'fpath=("$1" $fpath); autoload -Uz compinit; compinit -u -d "$2/zcompdump"
	print $_comps[blastctl] $_comps[blast]' _ "$C" "$W")
assert_eq "_blastctl _blastctl" "$got" "zsh: compinit binds _blastctl"
