# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# direnv library: `use blast` in a project's .envrc mounts the project's
# Blast env (starting its blastfs if needed) and activates it while you are
# in the directory; direnv undoes it when you leave. To enable it once:
#     mkdir -p ~/.config/direnv/lib
#     ln -s /usr/share/blast/direnv/blast.sh ~/.config/direnv/lib/blast.sh
# then in the project:  echo 'use blast' >.envrc && direnv allow
# `use blast [NAME] [START OPTIONS]` takes what `blastctl start` takes
# (default NAME: the directory's name). The env stays mounted on leaving:
# `blastctl kill` stops it (`direnv reload` starts it again).

use_blast() {
	local mnt
	# fd 3 is direnv's pipe: the daemon must not hold it open
	mnt=$(blastctl start --attach "$@" 3>&-) || return
	if [ ! -f "$mnt/bin/activate" ]; then
		log_error "blast: no activate script at '$mnt/bin/activate'"
		return 1
	fi
	# the env's own activate: VIRTUAL_ENV, PATH and the env's variables
	# (blastctl vars); direnv keeps the exported ones
	# shellcheck disable=SC1091
	. "$mnt/bin/activate"
}
