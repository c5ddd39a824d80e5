# SPDX-License-Identifier: MIT
# fish completion for blastctl and the blast shell function; what to offer
# comes from complete.bash (shared with bash and zsh).
function __blastctl_complete
    set -l helper $BLAST_COMPLETE_HELPER
    test -n "$helper"; or set helper @helper@
    set -l cur (commandline -ct)
    for c in (bash $helper (commandline -opc) "$cur")
        switch $c
            case :dir
                __fish_complete_directories "$cur"
            case :file
                __fish_complete_path "$cur"
            case '*'
                echo $c
        end
    end
end
complete -c blastctl -f -a '(__blastctl_complete)'
complete -c blast -f -a '(__blastctl_complete)'
