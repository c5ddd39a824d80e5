# blast: activate env 'proj' (written by blastctl; regenerated at every
# start, `vars` change and load). In fish:   source .blast/bin/activate.fish
# `deactivate` restores PATH, fish_prompt, PYTHONHOME and every variable
# the env set, exactly as before; `deactivate nondestructive` keeps the
# function. Hooks: executables and *.fish files in
# hooks/{pre,post}-{activate,deactivate}.d/ run in name order.

# _blast_hooks PHASE DIR: run DIR/hooks/PHASE.d/*: *.fish sourced, other
# executables run (files for other shells skipped). Stops at the first
# failure, reporting it on stderr, and returns its status.
function _blast_hooks --argument-names phase dir
    for h in $dir/hooks/$phase.d/*
        set -l rc 0
        switch $h
            case '*.sh' '*.nu' '*.ps1' '*.csh'
                continue
            case '*.fish'
                test -f $h; or continue
                source $h
                set rc $status
            case '*'
                test -f $h -a -x $h; or continue
                BLAST_HOOK=$phase BLAST_ENV_DIR=$dir $h
                set rc $status
        end
        if test $rc -ne 0
            echo "blast: $phase hook '$h' failed (exit $rc)" >&2
            return $rc
        end
    end
    return 0
end

# _blast_var KEY VALUE: export KEY=VALUE, remembering what KEY was.
function _blast_var --argument-names k v
    if set -q $k
        set -g _BLAST_OLD_$k $$k
    end
    set -gx $k $v
    set -g _BLAST_VARS $_BLAST_VARS $k
end

# _blast_unvars: restore every variable _blast_var set.
function _blast_unvars
    for k in $_BLAST_VARS
        set -l o _BLAST_OLD_$k
        if set -q $o
            set -gx $k $$o
            set -e -g $o
        else
            set -e -g $k
        end
    end
    set -e -g _BLAST_VARS
end

# deactivate [nondestructive]: leave the active env (blast's or a plain
# venv's). Deactivate hooks run when a blast env is active; a failing one
# is reported (status 1) but the env is left all the same.
function deactivate -d 'leave the active blast env'
    set -l st 0
    if set -q _BLAST_ENV_DIR; and not set -q _BLAST_NO_HOOKS
        _blast_hooks pre-deactivate $_BLAST_ENV_DIR; or set st 1
    end
    if set -q _OLD_VIRTUAL_PATH
        set -gx PATH $_OLD_VIRTUAL_PATH
        set -e -g _OLD_VIRTUAL_PATH
    end
    if set -q _OLD_VIRTUAL_PYTHONHOME
        set -gx PYTHONHOME $_OLD_VIRTUAL_PYTHONHOME
        set -e -g _OLD_VIRTUAL_PYTHONHOME
    end
    if set -q _BLAST_NO_OLD_PROMPT
        functions -e fish_prompt _old_fish_prompt
    else if functions -q _old_fish_prompt
        functions -e fish_prompt
        functions -c _old_fish_prompt fish_prompt
        functions -e _old_fish_prompt
    end
    set -e -g _BLAST_NO_OLD_PROMPT
    _blast_unvars
    if set -q _BLAST_OLD_VIRTUAL_ENV_PROMPT
        set -gx VIRTUAL_ENV_PROMPT $_BLAST_OLD_VIRTUAL_ENV_PROMPT
        set -e -g _BLAST_OLD_VIRTUAL_ENV_PROMPT
    else
        set -e -g VIRTUAL_ENV_PROMPT
    end
    set -e -g VIRTUAL_ENV
    if set -q _BLAST_ENV_DIR; and not set -q _BLAST_NO_HOOKS
        _blast_hooks post-deactivate $_BLAST_ENV_DIR; or set st 1
    end
    set -e -g _BLAST_ENV_DIR
    if test "$argv[1]" != nondestructive
        functions -e deactivate _blast_hooks _blast_var _blast_unvars
    end
    return $st
end

# Leave the env that is active, if any (hooks included), keeping the
# functions.
deactivate nondestructive

if not _blast_hooks pre-activate '@WORK@/proj/.blast'
    functions -e deactivate _blast_hooks _blast_var _blast_unvars
    echo "blast: env 'proj' not activated" >&2
    false
else
    set -gx VIRTUAL_ENV '@WORK@/proj/.blast'
    set -g _BLAST_ENV_DIR $VIRTUAL_ENV

    set -gx _OLD_VIRTUAL_PATH $PATH
    set -gx PATH $VIRTUAL_ENV/bin $PATH

    if set -q PYTHONHOME
        set -gx _OLD_VIRTUAL_PYTHONHOME $PYTHONHOME
        set -e -g PYTHONHOME
    end

    if set -q VIRTUAL_ENV_PROMPT
        set -g _BLAST_OLD_VIRTUAL_ENV_PROMPT $VIRTUAL_ENV_PROMPT
    end
    set -gx VIRTUAL_ENV_PROMPT 'blast:proj'

    # The env's variables (blastctl vars).
    _blast_var EMPTY ''
    _blast_var NL 'a
b'
    _blast_var QUOTED 'it\'s "both" \\ $x'
    if test -z "$VIRTUAL_ENV_DISABLE_PROMPT"
        if functions -q fish_prompt
            functions -c fish_prompt _old_fish_prompt
        else
            set -g _BLAST_NO_OLD_PROMPT 1
            function _old_fish_prompt
            end
        end
        # The old prompt runs with the status the command left; a prefix
        # another env's prompt shows is not shown twice.
        function fish_prompt
            set -l s $status
            printf '%s' '(blast:proj) '
            echo "exit $s" | source
            set -l p (_old_fish_prompt | string collect -N)
            printf '%s' (string replace -r -- '^\((blast:[^)]*|\.?venv)\) ' '' "$p" | string collect -N)
        end
    end

    if not _blast_hooks post-activate $VIRTUAL_ENV
        set -g _BLAST_NO_HOOKS 1
        deactivate nondestructive
        set -e -g _BLAST_NO_HOOKS
        functions -e deactivate _blast_hooks _blast_var _blast_unvars
        echo "blast: env 'proj' not activated" >&2
        false
    end
end
