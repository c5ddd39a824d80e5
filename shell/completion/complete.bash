#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# What to offer for blastctl's command line, for the bash, zsh and fish
# completions (blastctl.bash, _blastctl, blastctl.fish) alike:
#     complete.bash WORD0 WORD1... CUR
# the words before the cursor (WORD0 is the blastctl to ask) and the word
# being completed. Prints one candidate a line, those starting with CUR, or
# ':dir' / ':file' for the shell's own directory or file completion.
# Commands and options come from blastctl's help (so they never drift),
# env and snapshot names from `blastctl list/snapshots --json`.
set -u

words=("${@:1:$#-1}")
cur=${!#}
bc=("${words[0]}")
# the blast shell function passes commands on to blastctl
[[ ${words[0]##*/} == blast ]] && bc=(blastctl)
cmd=
pos=()
argopts=()

# opts CMD: blastctl CMD's options, each with its value's name if it has
# one ("--dir DIR"), as its --help shows them.
opts() {
	"${bc[@]}" "$1" --help 2>/dev/null |
		grep -oE -- '(^|[ [])(-[a-zA-Z]|--[a-z][a-z-]*)( [A-Z][A-Z.|]*)?' |
		sed 's/^[ [] *//' | sort -u
}

# names list|snapshots [ENV]: env or snapshot names, one a line.
names() {
	"${bc[@]}" "$@" --json 2>/dev/null |
		sed -n 's/^      "name": "\(.*\)",$/\1/p'
}

offer() {
	local w
	for w in "$@"; do
		[[ $w == "$cur"* ]] && printf '%s\n' "$w"
	done
	return 0
}

for ((i = 1; i < ${#words[@]}; i++)); do
	w=${words[i]}
	if [[ -z $cmd ]]; then
		case $w in
		--home)
			bc+=(--home "${words[i + 1]:-}")
			((i++))
			;;
		--home=*) bc+=("$w") ;;
		-*) ;;
		*)
			cmd=$w
			mapfile -t argopts < <(opts "$cmd" | sed -n 's/ .*//p')
			;;
		esac
		continue
	fi
	case " ${argopts[*]} " in
	*" $w "*)
		((i++))
		continue
		;;
	esac
	[[ $w == -* && $w != -- ]] || pos+=("$w")
done
prev=
((${#words[@]} > 1)) && prev=${words[-1]}

# The value of an option.
case $prev in
--home | --dir) [[ -n $cmd || $prev == --home ]] && echo :dir && exit 0 ;;
esac
if [[ -z $cmd ]]; then
	case $cur in
	-*) offer --home --json --quiet --help --version ;;
	*) offer $("${bc[@]}" help 2>/dev/null | sed -n '/^commands:$/,/^$/s/^  \([a-z-]*\) .*/\1/p') ;;
	esac
	exit 0
fi
case " ${argopts[*]} " in
*" $prev "*)
	case $prev in
	--python) echo :file ;;
	--from) cur_ref=1 ;;
	--net) offer none loopback filtered host && exit 0 ;;
	*) exit 0 ;;
	esac
	[[ -n ${cur_ref:-} ]] || exit 0
	;;
esac

if [[ $cur == -* && -z ${cur_ref:-} ]]; then
	offer $({ opts "$cmd" | sed 's/ .*//' && echo --help; } | sort -u)
	exit 0
fi

# A REF: ENV, or ENV@SNAP once an @ is typed.
ref() {
	if [[ $cur == *@* ]]; then
		offer $(names snapshots "${cur%%@*}" | sed "s/^/${cur%%@*}@/")
	else
		offer $(names list)
	fi
}

[[ -n ${cur_ref:-} ]] && ref && exit 0
# Positional operands, by command: [NAME] first for most, then SNAPs.
n=${#pos[@]}
case $cmd in
help) ((n == 0)) && offer $("${bc[@]}" help 2>/dev/null | sed -n '/^commands:$/,/^$/s/^  \([a-z-]*\) .*/\1/p') ;;
shell-init) ((n == 0)) && offer $("${bc[@]}" shell-init --help 2>/dev/null | sed -n '1s/.*shell-init //p' | tr '|' ' ') ;;
export)
	((n == 0)) && ref
	((n == 1)) && echo :dir
	;;
import) ((n == 1)) && echo :dir ;;
kill) ((n == 0)) && offer $(names list) && echo :dir ;;
load | rm-snapshot | diff)
	if ((n == 0)); then
		offer $(names list) $(names snapshots)
	elif names list | grep -qx -- "${pos[0]}"; then
		offer $(names snapshots "${pos[0]}")
	else
		offer $(names snapshots)
	fi
	;;
run) ((n == 0)) && offer $(names list) ;;
init | list | gc | compact | create) ;;
*) ((n == 0)) && offer $(names list) ;;
esac
exit 0
