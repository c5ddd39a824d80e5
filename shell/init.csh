# blast: the `blast` alias for csh and tcsh (blastctl shell-init csh|tcsh).
# In ~/.cshrc or ~/.tcshrc:   eval "`blastctl shell-init tcsh`"
#   blast start [NAME] [ARGS]  blastctl start, then activate in this shell
#   blast kill [NAME|DIR]      deactivate (the active env by default), then
#                              blastctl kill
#   blast COMMAND [ARGS]       blastctl COMMAND ARGS
# The exit status is blastctl's (or 1 if activating failed). As with any
# csh alias, a redirection written after `blast ...` applies to the
# alias's first command, not to blastctl.
#
# Its variables and aliases are _blasti_*: activate.csh's own are _blast_*
# (and it unsets them).
# csh's eval joins the lines of `...` into one, and an alias cannot hold
# if/endif blocks: blastctl drops these comment lines and ends every other
# line with ';' (ctl/activate.c), and each line below is one command.
# A one-line `if (X) CMD` substitutes CMD's variables even when X is
# false, and aliases are not looked up there, so optional variables and
# aliases go through `eval` (\$ defers the variables)
# and the kill target is found by sh (a for loop csh has no one-line form
# of): 0 not the active env, 1 the active env, 2 no target (the active
# env's is added). The sh text is in single quotes: no '!' in it.
set _blasti_kill_sh = 'a=$1; p=$2; shift 2; t=; for x do case $x in -*) ;; *) t=$x ;; esac; done; if [ -z "$a" ]; then echo 0; elif [ -z "$t" ]; then echo 2; elif [ "blast:$t" = "$p" ] || [ "$(cd "$t" 2>/dev/null && pwd -P)" = "$a" ] || [ "$(cd "$t/.blast" 2>/dev/null && pwd -P)" = "$a" ]; then echo 1; else echo 0; fi'
# A one-line `if` opens its redirections even when false (a file on
# stderr would be truncated): messages go through sh
set _blasti_err_sh = 'printf "blast: %s\n" "$1" >&2'
# _blasti_env: the active env's mount and prompt into _blasti_d, _blasti_p
alias _blasti_env 'set _blasti_d = "" ; set _blasti_p = "" ; if ($?_BLAST_ENV_DIR) eval set _blasti_d = \$_BLAST_ENV_DIR:q ; if ($?VIRTUAL_ENV_PROMPT) eval set _blasti_p = \$VIRTUAL_ENV_PROMPT:q'
# start: blastctl's stdout (the mountpoint) goes through a file, so that
# its exit status is blastctl's
alias _blasti_start 'set _blasti_f = "`mktemp`" ; \blastctl start --attach $_blasti_a[2-]:q >! $_blasti_f:q ; set _blasti_rc = $status ; set _blasti_m = "`cat $_blasti_f:q`" ; rm -f $_blasti_f:q ; if ($_blasti_rc == 0 && ! -f "$_blasti_m/bin/activate.csh") sh -c $_blasti_err_sh:q sh "no activate script at '\''$_blasti_m/bin/activate.csh'\''" ; if ($_blasti_rc == 0 && ! -f "$_blasti_m/bin/activate.csh") set _blasti_rc = 1 ; if ($_blasti_rc == 0) source "$_blasti_m/bin/activate.csh" ; if ($_blasti_rc == 0 && ! $?_BLAST_ENV_DIR) set _blasti_rc = 1 ; _blasti_env ; if ($_blasti_rc == 0) \blastctl policy "$_blasti_p:s/blast://" enter --quiet $$ ; (exit $_blasti_rc)'
# kill: deactivate first (activate.csh needs the mount), back if it failed
alias _blasti_kill '_blasti_env ; set _blasti_act = `sh -c $_blasti_kill_sh:q sh "$_blasti_d" "$_blasti_p" $_blasti_a[2-]:q` ; if ("$_blasti_act" == 2) set _blasti_a = ($_blasti_a:q "$_blasti_d") ; if ("$_blasti_act" != 0) \blastctl policy "$_blasti_p:s/blast://" leave --quiet $$ ; if ("$_blasti_act" != 0) eval deactivate ; \blastctl kill $_blasti_a[2-]:q ; set _blasti_rc = $status ; if ($_blasti_rc != 0 && "$_blasti_act" != 0 && -f "$_blasti_d/bin/activate.csh") source "$_blasti_d/bin/activate.csh" ; (exit $_blasti_rc)'
alias _blasti_pass '\blastctl $_blasti_a:q'
alias blast 'set _blasti_a = (\!*) ; set _blasti_c = ($_blasti_a:q "") ; set _blasti_x = _blasti_pass ; if ("$_blasti_c[1]" == start) set _blasti_x = _blasti_start ; if ("$_blasti_c[1]" == kill) set _blasti_x = _blasti_kill ; eval $_blasti_x'
# A nested shell inherits the active env's environment (VIRTUAL_ENV, PATH)
# but not its aliases or prompt: take the env up again here, PATH first
# without the env's bin (activate.csh puts it back). Modifiers such as
# :s do not expand variables, so sh strips the prefix; an alias runs it
# in `...`, where the variable would be expanded too early.
set _blasti_path_sh = 'printf "%s" "${PATH#"$VIRTUAL_ENV/bin:"}"'
alias _blasti_path 'sh -c $_blasti_path_sh:q'
set _blasti_nest = 0 ; if ($?VIRTUAL_ENV && $?VIRTUAL_ENV_PROMPT && ! $?_BLAST_ENV_DIR) set _blasti_nest = 1
if ($_blasti_nest) eval 'if ("$VIRTUAL_ENV_PROMPT" =~ blast:* && -f "$VIRTUAL_ENV/bin/activate.csh") set _blasti_nest = 2'
if ($_blasti_nest == 2) eval 'setenv PATH "`_blasti_path`" ; source "$VIRTUAL_ENV/bin/activate.csh"'
unset _blasti_nest
