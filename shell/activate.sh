# blast: activate env '@NAME@' (written by blastctl; regenerated at every
# start, `vars` change and load). Source it from bash, zsh or a POSIX sh
# (dash):   . .blast/bin/activate
# `deactivate` restores PATH, the prompt, PYTHONHOME and every variable the
# env set, exactly as before (unset stays unset); `deactivate
# nondestructive` does so but keeps the function. Hooks: executables and
# *.sh files in hooks/{pre,post}-{activate,deactivate}.d/ run in name order.

# _blast_hooks PHASE DIR: run DIR/hooks/PHASE.d/*: *.sh sourced, other
# executables run (files for other shells skipped). Stops at the first
# failure, reporting it on stderr, and returns its status.
_blast_hooks () {
    if [ -n "${ZSH_VERSION-}" ]; then
        setopt localoptions nullglob
    fi
    for _blast_h in "$2/hooks/$1.d/"*; do
        _blast_rc=0
        case $_blast_h in
        *.fish | *.nu | *.ps1 | *.csh) continue ;;
        *.sh) [ -f "$_blast_h" ] || continue
            . "$_blast_h" || _blast_rc=$? ;;
        *) [ -f "$_blast_h" ] && [ -x "$_blast_h" ] || continue
            BLAST_HOOK=$1 BLAST_ENV_DIR=$2 "$_blast_h" || _blast_rc=$? ;;
        esac
        if [ "$_blast_rc" -ne 0 ]; then
            echo "blast: $1 hook '$_blast_h' failed (exit $_blast_rc)" >&2
            unset _blast_h
            return "$_blast_rc"
        fi
    done
    unset _blast_h _blast_rc
    return 0
}

# _blast_var KEY VALUE: export KEY=VALUE, remembering what KEY was.
_blast_var () {
    if eval "[ -n \"\${$1+set}\" ]"; then
        eval "_BLAST_OLD_$1=\$$1"
    fi
    eval "$1=\$2"
    export "$1"
    _BLAST_VARS="${_BLAST_VARS-}${_BLAST_VARS:+ }$1"
}

# _blast_unvars: restore every variable _blast_var set.
_blast_unvars () {
    while [ -n "${_BLAST_VARS-}" ]; do
        _blast_k=${_BLAST_VARS%% *}
        _BLAST_VARS=${_BLAST_VARS#"$_blast_k"}
        _BLAST_VARS=${_BLAST_VARS# }
        if eval "[ -n \"\${_BLAST_OLD_$_blast_k+set}\" ]"; then
            eval "$_blast_k=\$_BLAST_OLD_$_blast_k"
            export "$_blast_k"
            unset "_BLAST_OLD_$_blast_k"
        else
            unset "$_blast_k"
        fi
    done
    unset _BLAST_VARS _blast_k
}

# deactivate [nondestructive]: leave the active env (blast's or a plain
# venv's: the _OLD_VIRTUAL_* names are venv's). Deactivate hooks run
# when a blast env is active; a failing one is reported (exit 1) but the
# env is left all the same.
deactivate () {
    _blast_st=0
    if [ -n "${_BLAST_ENV_DIR-}" ] && [ -z "${_BLAST_NO_HOOKS-}" ]; then
        _blast_hooks pre-deactivate "$_BLAST_ENV_DIR" || _blast_st=1
    fi
    if [ -n "${_OLD_VIRTUAL_PATH+set}" ]; then
        PATH=$_OLD_VIRTUAL_PATH
        export PATH
        unset _OLD_VIRTUAL_PATH
    fi
    if [ -n "${_OLD_VIRTUAL_PYTHONHOME+set}" ]; then
        PYTHONHOME=$_OLD_VIRTUAL_PYTHONHOME
        export PYTHONHOME
        unset _OLD_VIRTUAL_PYTHONHOME
    fi
    if [ -n "${_OLD_VIRTUAL_PS1+set}" ]; then
        if [ -n "${_BLAST_PS1_UNSET-}" ]; then
            unset PS1
        else
            PS1=$_OLD_VIRTUAL_PS1
        fi
        unset _OLD_VIRTUAL_PS1 _BLAST_PS1_UNSET
    fi
    _blast_unvars
    if [ -n "${_BLAST_OLD_VIRTUAL_ENV_PROMPT+set}" ]; then
        VIRTUAL_ENV_PROMPT=$_BLAST_OLD_VIRTUAL_ENV_PROMPT
        unset _BLAST_OLD_VIRTUAL_ENV_PROMPT
    else
        unset VIRTUAL_ENV_PROMPT
    fi
    unset VIRTUAL_ENV
    hash -r 2>/dev/null
    if [ -n "${_BLAST_ENV_DIR-}" ] && [ -z "${_BLAST_NO_HOOKS-}" ]; then
        _blast_hooks post-deactivate "$_BLAST_ENV_DIR" || _blast_st=1
    fi
    unset _BLAST_ENV_DIR
    if [ "${1-}" != nondestructive ]; then
        unset -f deactivate _blast_hooks _blast_var _blast_unvars
    fi
    set -- "$_blast_st"
    unset _blast_st
    return "$1"
}

# Leave the env that is active, if any (hooks included), keeping the
# functions.
deactivate nondestructive || :

if ! _blast_hooks pre-activate @DIR@; then
    unset -f deactivate _blast_hooks _blast_var _blast_unvars
    echo "blast: env '@NAME@' not activated" >&2
    return 1 2>/dev/null || exit 1
fi

VIRTUAL_ENV=@DIR@
export VIRTUAL_ENV
_BLAST_ENV_DIR=$VIRTUAL_ENV

_OLD_VIRTUAL_PATH=$PATH
PATH="$VIRTUAL_ENV/bin:$PATH"
export PATH

if [ -n "${PYTHONHOME+set}" ]; then
    _OLD_VIRTUAL_PYTHONHOME=$PYTHONHOME
    unset PYTHONHOME
fi

if [ -n "${VIRTUAL_ENV_PROMPT+set}" ]; then
    _BLAST_OLD_VIRTUAL_ENV_PROMPT=$VIRTUAL_ENV_PROMPT
fi
VIRTUAL_ENV_PROMPT='blast:@NAME@'
export VIRTUAL_ENV_PROMPT

# The env's variables (blastctl vars).
@VARS@
if [ -z "${VIRTUAL_ENV_DISABLE_PROMPT-}" ]; then
    if [ -z "${PS1+set}" ]; then
        _BLAST_PS1_UNSET=1
    fi
    _OLD_VIRTUAL_PS1=${PS1-}
    # a prefix another env's script left (a nested shell inherits PS1
    # but not the function that would remove it) is not shown twice
    _blast_p=${PS1-}
    case $_blast_p in
    "(blast:"*") "*) _blast_p=${_blast_p#*") "} ;;
    "(.venv) "*) _blast_p=${_blast_p#"(.venv) "} ;;
    "(venv) "*) _blast_p=${_blast_p#"(venv) "} ;;
    esac
    PS1="(blast:@NAME@) $_blast_p"
    unset _blast_p
fi

hash -r 2>/dev/null

if ! _blast_hooks post-activate "$VIRTUAL_ENV"; then
    _BLAST_NO_HOOKS=1
    deactivate
    unset _BLAST_NO_HOOKS
    echo "blast: env '@NAME@' not activated" >&2
    return 1 2>/dev/null || exit 1
fi
:
