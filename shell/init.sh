# blast: the `blast` function for @SHELL@ (blastctl shell-init @SHELL@).
# In your rc file:   eval "$(blastctl shell-init @SHELL@)"
#   blast start [NAME] [ARGS]  blastctl start, then activate in this shell
#                              (policy shell.confine: a confined shell)
#   blast kill [NAME|DIR]      deactivate (the active env by default), then
#                              blastctl kill
#   blast COMMAND [ARGS]       blastctl COMMAND ARGS
# Only blastctl's stdout (the mountpoint) is read; its status lines go to
# stderr untouched. The exit status is blastctl's (or activate's).
blast () {
    local _blast_mnt _blast_t _blast_a _blast_act= _blast_dir _blast_rc
    case ${1-} in
    start)
        shift
        _blast_mnt=$(command blastctl start --attach "$@") || return
        if [ -z "$_blast_mnt" ] || [ ! -f "$_blast_mnt/bin/activate" ]; then
            echo "blast: no activate script at '$_blast_mnt/bin/activate'" >&2
            return 1
        fi
        . "$_blast_mnt/bin/activate" || return
        _blast_t=${VIRTUAL_ENV_PROMPT#blast:}
        # the env's resource limits (policy res.*) for this shell, if any;
        # with shell.confine true, a confined shell instead: this one
        # cannot enter new namespaces, so the env is left when it ends
        _blast_a=$(command blastctl policy "$_blast_t" enter --quiet --confine-shell "$$") || return
        if [ "$_blast_a" = confine ]; then
            _blast_rc=0
            command blastctl run "$_blast_t" -- "${SHELL:-/bin/sh}" || _blast_rc=$?
            # deactivate unsets every _blast_* variable
            set -- "$_blast_rc"
            deactivate || :
            return "$1"
        fi
        ;;
    kill)
        shift
        if [ -n "${_BLAST_ENV_DIR-}" ]; then
            _blast_t=
            for _blast_a in "$@"; do
                case $_blast_a in
                -*) ;;
                *) _blast_t=$_blast_a ;;
                esac
            done
            if [ -z "$_blast_t" ]; then
                # no target: the active env
                set -- "$@" "$_BLAST_ENV_DIR"
                _blast_act=1
            elif [ "blast:$_blast_t" = "${VIRTUAL_ENV_PROMPT-}" ] ||
                [ "$(cd "$_blast_t" 2>/dev/null && pwd -P)" = "$_BLAST_ENV_DIR" ] ||
                [ "$(cd "$_blast_t/.blast" 2>/dev/null && pwd -P)" = "$_BLAST_ENV_DIR" ]; then
                _blast_act=1
            fi
        fi
        if [ -n "$_blast_act" ]; then
            _blast_dir=$_BLAST_ENV_DIR
            command blastctl policy "${VIRTUAL_ENV_PROMPT#blast:}" leave --quiet "$$" || :
            deactivate || :
        fi
        _blast_rc=0
        command blastctl kill "$@" || _blast_rc=$?
        if [ "$_blast_rc" -ne 0 ] && [ -n "$_blast_act" ] && [ -f "$_blast_dir/bin/activate" ]; then
            # still mounted: back to where we were
            . "$_blast_dir/bin/activate"
        fi
        return "$_blast_rc"
        ;;
    *)
        command blastctl "$@"
        ;;
    esac
}

# A nested shell inherits the active env's exported variables (VIRTUAL_ENV,
# PATH) but not its functions or prompt: take the env up again here, so
# the prompt shows it and deactivate works.
case ${VIRTUAL_ENV_PROMPT-} in
blast:*)
    if [ -n "${VIRTUAL_ENV-}" ] && [ -z "${_BLAST_ENV_DIR-}" ] &&
        [ -f "$VIRTUAL_ENV/bin/activate" ]; then
        case $PATH in
        "$VIRTUAL_ENV/bin:"*) _OLD_VIRTUAL_PATH=${PATH#"$VIRTUAL_ENV/bin:"} ;;
        esac
        . "$VIRTUAL_ENV/bin/activate"
    fi
    ;;
esac
