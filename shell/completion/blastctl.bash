# SPDX-License-Identifier: MIT
# bash completion for blastctl and the blast shell function; what to offer
# comes from complete.bash (shared with zsh and fish).
_blastctl() {
	local helper=${BLAST_COMPLETE_HELPER:-@helper@}
	local line=${COMP_LINE:0:COMP_POINT} cur= c
	local -a words
	# Split the line ourselves: COMP_WORDS breaks ENV@SNAP at the '@'.
	read -ra words <<<"$line"
	if [[ $line != *[[:space:]] && ${#words[@]} -gt 1 ]]; then
		cur=${words[-1]}
		unset 'words[-1]'
	fi
	COMPREPLY=()
	while IFS= read -r c; do
		case $c in
		:dir) mapfile -t -O "${#COMPREPLY[@]}" COMPREPLY < <(compgen -d -- "$cur") ;;
		:file) mapfile -t -O "${#COMPREPLY[@]}" COMPREPLY < <(compgen -f -- "$cur") ;;
		*) COMPREPLY+=("$c") ;;
		esac
	done < <(bash "$helper" "${words[@]}" "$cur")
	# bash replaces the part of the word after its last '@'
	[[ $cur == *@* ]] || return 0
	local i
	for i in "${!COMPREPLY[@]}"; do
		COMPREPLY[i]=${COMPREPLY[i]#"${cur%@*}@"}
	done
}
complete -F _blastctl blastctl blast
