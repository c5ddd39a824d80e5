# blast: the `blast` function for fish (blastctl shell-init fish).
# In config.fish:   blastctl shell-init fish | source
#   blast start [NAME] [ARGS]  blastctl start, then activate in this shell
#                              (policy shell.confine: a confined shell)
#   blast kill [NAME|DIR]      deactivate (the active env by default), then
#                              blastctl kill
#   blast COMMAND [ARGS]       blastctl COMMAND ARGS
# Only blastctl's stdout (the mountpoint) is read; its status lines go to
# stderr untouched. The exit status is blastctl's (or activate's).
function blast --description 'start, kill and activate blast envs; the rest goes to blastctl'
    set -l args $argv[2..-1]
    switch "$argv[1]"
        case start
            set -l mnt (command blastctl start --attach $args)
            or return
            if test -z "$mnt" -o ! -f "$mnt/bin/activate.fish"
                echo "blast: no activate script at '$mnt/bin/activate.fish'" >&2
                return 1
            end
            source "$mnt/bin/activate.fish"
            or return
            set -l name (string replace -- 'blast:' '' "$VIRTUAL_ENV_PROMPT")
            # the env's resource limits (policy res.*) for this shell, if
            # any; with shell.confine true, a confined shell instead: this
            # one cannot enter new namespaces, so the env is left when it
            # ends
            set -l how (command blastctl policy $name enter --quiet --confine-shell $fish_pid)
            or return
            if test "$how" = confine
                set -l sh fish
                set -q SHELL[1]; and test -n "$SHELL"; and set sh $SHELL
                command blastctl run $name -- $sh
                set -l rc $status
                deactivate
                return $rc
            end
        case kill
            set -l act
            set -l dir
            if set -q _BLAST_ENV_DIR
                set -l t
                for a in $args
                    string match -q -- '-*' $a; or set t $a
                end
                if test -z "$t"
                    # no target: the active env
                    set args $args $_BLAST_ENV_DIR
                    set act 1
                else if test "$t" = (string replace -- 'blast:' '' "$VIRTUAL_ENV_PROMPT")
                    set act 1
                else if test (builtin realpath -- $t 2>/dev/null) = "$_BLAST_ENV_DIR"
                    set act 1
                else if test (builtin realpath -- $t/.blast 2>/dev/null) = "$_BLAST_ENV_DIR"
                    set act 1
                end
            end
            if test -n "$act"
                set dir $_BLAST_ENV_DIR
                command blastctl policy (string replace -- 'blast:' '' "$VIRTUAL_ENV_PROMPT") leave --quiet $fish_pid
                deactivate
            end
            command blastctl kill $args
            set -l rc $status
            if test $rc -ne 0 -a -n "$act" -a -f "$dir/bin/activate.fish"
                # still mounted: back to where we were
                source "$dir/bin/activate.fish"
            end
            return $rc
        case '*'
            command blastctl $argv
    end
end

# A nested fish inherits the active env's exported variables (VIRTUAL_ENV,
# PATH) but not its functions, so fish_prompt would lose the env: take the
# env up again here, so the prompt shows it and deactivate works.
if set -q VIRTUAL_ENV; and not set -q _BLAST_ENV_DIR
    and string match -q 'blast:*' -- "$VIRTUAL_ENV_PROMPT"
    and test -f "$VIRTUAL_ENV/bin/activate.fish"
    source "$VIRTUAL_ENV/bin/activate.fish"
end
