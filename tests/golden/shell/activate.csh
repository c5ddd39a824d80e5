# blast: activate env 'proj' (written by blastctl; regenerated at every
# start, `vars` change and load). In csh or tcsh:
#     source .blast/bin/activate.csh
# `deactivate` (an alias: it sources this file again, so the env must
# still be mounted) restores PATH, the prompt, PYTHONHOME and every
# variable the env set, exactly as before; `deactivate nondestructive`
# keeps the alias. Hooks: executables and *.csh files in
# hooks/{pre,post}-{activate,deactivate}.d/ run in name order (names
# without blanks); a failing one is reported. Messages append to
# /dev/stderr: `>` would truncate a file there (and a one-line `if` opens
# its redirection even when false).

# ---- leave the active env, if any -----------------------------------------
if ($?_BLAST_ENV_DIR) then
    set _blast_dir = $_BLAST_ENV_DIR:q
    if (! $?_blast_nohooks) then
        set _blast_phase = pre-deactivate
        if (-d "$_blast_dir/hooks/$_blast_phase.d") then
            foreach _blast_h (`ls -1 "$_blast_dir/hooks/$_blast_phase.d"`)
                set _blast_f = "$_blast_dir/hooks/$_blast_phase.d/$_blast_h"
                if ("$_blast_h" =~ *.sh || "$_blast_h" =~ *.fish || "$_blast_h" =~ *.nu || "$_blast_h" =~ *.ps1) continue
                if ("$_blast_h" =~ *.csh) then
                    source "$_blast_f"
                    set _blast_rc = $status
                else if (-f "$_blast_f" && -x "$_blast_f") then
                    env BLAST_HOOK=$_blast_phase BLAST_ENV_DIR="$_blast_dir" "$_blast_f"
                    set _blast_rc = $status
                else
                    continue
                endif
                if ($_blast_rc != 0) then
                    echo "blast: $_blast_phase hook '$_blast_f' failed (exit $_blast_rc)" >> /dev/stderr
                    break
                endif
            end
        endif
    endif
    if ($?_OLD_VIRTUAL_PATH) then
        setenv PATH $_OLD_VIRTUAL_PATH:q
        unset _OLD_VIRTUAL_PATH
    endif
    if ($?_OLD_VIRTUAL_PYTHONHOME) then
        setenv PYTHONHOME $_OLD_VIRTUAL_PYTHONHOME:q
        unset _OLD_VIRTUAL_PYTHONHOME
    endif
    if ($?_OLD_VIRTUAL_PROMPT) then
        set prompt = $_OLD_VIRTUAL_PROMPT:q
        unset _OLD_VIRTUAL_PROMPT
    endif
    if ($?_blast_vars) then
        foreach _blast_k ($_blast_vars)
            if (`eval 'echo $?_blast_old_'$_blast_k`) then
                eval 'setenv '$_blast_k' $_blast_old_'$_blast_k':q'
                unset _blast_old_$_blast_k
            else
                unsetenv $_blast_k
            endif
        end
        unset _blast_vars _blast_k
    endif
    if ($?_blast_old_VIRTUAL_ENV_PROMPT) then
        setenv VIRTUAL_ENV_PROMPT $_blast_old_VIRTUAL_ENV_PROMPT:q
        unset _blast_old_VIRTUAL_ENV_PROMPT
    else
        unsetenv VIRTUAL_ENV_PROMPT
    endif
    unsetenv VIRTUAL_ENV
    unset _BLAST_ENV_DIR
    rehash
    if (! $?_blast_nohooks) then
        set _blast_phase = post-deactivate
        if (-d "$_blast_dir/hooks/$_blast_phase.d") then
            foreach _blast_h (`ls -1 "$_blast_dir/hooks/$_blast_phase.d"`)
                set _blast_f = "$_blast_dir/hooks/$_blast_phase.d/$_blast_h"
                if ("$_blast_h" =~ *.sh || "$_blast_h" =~ *.fish || "$_blast_h" =~ *.nu || "$_blast_h" =~ *.ps1) continue
                if ("$_blast_h" =~ *.csh) then
                    source "$_blast_f"
                    set _blast_rc = $status
                else if (-f "$_blast_f" && -x "$_blast_f") then
                    env BLAST_HOOK=$_blast_phase BLAST_ENV_DIR="$_blast_dir" "$_blast_f"
                    set _blast_rc = $status
                else
                    continue
                endif
                if ($_blast_rc != 0) then
                    echo "blast: $_blast_phase hook '$_blast_f' failed (exit $_blast_rc)" >> /dev/stderr
                    break
                endif
            end
        endif
    endif
    unset _blast_dir _blast_phase _blast_h _blast_f _blast_rc
endif

if ($?_blast_deactivate) then
    # `deactivate`: leaving was all
    if ("$_blast_deactivate" != nondestructive) then
        unalias deactivate
        unset _blast_csh_file
    endif
    unset _blast_deactivate
else
    # ---- activate -----------------------------------------------------------
    set _blast_dir = '@WORK@/proj/.blast'
    set _blast_ok = 1
    set _blast_phase = pre-activate
    if (-d "$_blast_dir/hooks/$_blast_phase.d") then
        foreach _blast_h (`ls -1 "$_blast_dir/hooks/$_blast_phase.d"`)
            set _blast_f = "$_blast_dir/hooks/$_blast_phase.d/$_blast_h"
            if ("$_blast_h" =~ *.sh || "$_blast_h" =~ *.fish || "$_blast_h" =~ *.nu || "$_blast_h" =~ *.ps1) continue
            if ("$_blast_h" =~ *.csh) then
                source "$_blast_f"
                set _blast_rc = $status
            else if (-f "$_blast_f" && -x "$_blast_f") then
                env BLAST_HOOK=$_blast_phase BLAST_ENV_DIR="$_blast_dir" "$_blast_f"
                set _blast_rc = $status
            else
                continue
            endif
            if ($_blast_rc != 0) then
                echo "blast: $_blast_phase hook '$_blast_f' failed (exit $_blast_rc)" >> /dev/stderr
                set _blast_ok = 0
                break
            endif
        end
    endif
    if ($_blast_ok) then
        set _blast_csh_file = "$_blast_dir/bin/activate.csh"
        alias deactivate 'set _blast_deactivate = "\!*"; source "$_blast_csh_file"'
        setenv VIRTUAL_ENV $_blast_dir:q
        set _BLAST_ENV_DIR = $_blast_dir:q
        set _OLD_VIRTUAL_PATH = $PATH:q
        setenv PATH "$VIRTUAL_ENV/bin:$PATH"
        if ($?PYTHONHOME) then
            set _OLD_VIRTUAL_PYTHONHOME = $PYTHONHOME:q
            unsetenv PYTHONHOME
        endif
        if ($?VIRTUAL_ENV_PROMPT) then
            set _blast_old_VIRTUAL_ENV_PROMPT = $VIRTUAL_ENV_PROMPT:q
        endif
        setenv VIRTUAL_ENV_PROMPT 'blast:proj'
        set _blast_vars = ()
        # The env's variables (blastctl vars).
        if ($?EMPTY) then
            set _blast_old_EMPTY = $EMPTY:q
        endif
        setenv EMPTY ''
        set _blast_vars = ($_blast_vars EMPTY)
        if ($?NL) then
            set _blast_old_NL = $NL:q
        endif
        setenv NL 'a\
b'
        set _blast_vars = ($_blast_vars NL)
        if ($?QUOTED) then
            set _blast_old_QUOTED = $QUOTED:q
        endif
        setenv QUOTED 'it'\''s "both" \ $x'
        set _blast_vars = ($_blast_vars QUOTED)
        if (! $?VIRTUAL_ENV_DISABLE_PROMPT) then
            if ($?prompt) then
                set _OLD_VIRTUAL_PROMPT = $prompt:q
                set _blast_p = $prompt:q
                # a prefix a venv's or this env's prompt shows is not
                # shown twice (csh has no regex: these three exactly)
                if ("$_blast_p" =~ "(blast:proj) "*) then
                    set _blast_p = "$_blast_p:s/(blast:proj) //"
                else if ("$_blast_p" =~ "(.venv) "*) then
                    set _blast_p = "$_blast_p:s/(.venv) //"
                else if ("$_blast_p" =~ "(venv) "*) then
                    set _blast_p = "$_blast_p:s/(venv) //"
                endif
                set prompt = "(blast:proj) $_blast_p:q"
                unset _blast_p
            endif
        endif
        rehash
        set _blast_phase = post-activate
        if (-d "$_blast_dir/hooks/$_blast_phase.d") then
            foreach _blast_h (`ls -1 "$_blast_dir/hooks/$_blast_phase.d"`)
                set _blast_f = "$_blast_dir/hooks/$_blast_phase.d/$_blast_h"
                if ("$_blast_h" =~ *.sh || "$_blast_h" =~ *.fish || "$_blast_h" =~ *.nu || "$_blast_h" =~ *.ps1) continue
                if ("$_blast_h" =~ *.csh) then
                    source "$_blast_f"
                    set _blast_rc = $status
                else if (-f "$_blast_f" && -x "$_blast_f") then
                    env BLAST_HOOK=$_blast_phase BLAST_ENV_DIR="$_blast_dir" "$_blast_f"
                    set _blast_rc = $status
                else
                    continue
                endif
                if ($_blast_rc != 0) then
                    echo "blast: $_blast_phase hook '$_blast_f' failed (exit $_blast_rc)" >> /dev/stderr
                    set _blast_ok = 0
                    break
                endif
            end
        endif
        if (! $_blast_ok) then
            # roll back, without the deactivate hooks
            set _blast_nohooks
            set _blast_deactivate = destructive
            source "$_blast_csh_file"
            unset _blast_nohooks
        endif
    endif
    if (! $_blast_ok) echo "blast: env 'proj' not activated" >> /dev/stderr
    unset _blast_dir _blast_ok _blast_phase _blast_h _blast_f _blast_rc
endif
