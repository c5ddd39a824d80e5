# The activation steps activate.nu and `blastctl shell-init nu` share.

# Run DIR/hooks/PHASE.d/*; the status of the first that fails (reported),
# else 0.
def _blast_hooks [phase: string, dir: string] {
    let d = ($dir | path join 'hooks' $"($phase).d")
    if not ($d | path exists) { return 0 }
    let hooks = (ls -l $d | where type in [file symlink] | sort-by name)
    for h in $hooks {
        let f = $h.name
        let nufile = ($f | str ends-with '.nu')
        if ($f =~ '\.(sh|fish|ps1|csh)$') { continue }
        if (not $nufile) and (($h.mode | str substring 2..2) != 'x') { continue }
        let rc = (try {
            with-env {BLAST_HOOK: $phase, BLAST_ENV_DIR: $dir} {
                if $nufile { ^$nu.current-exe -n $f } else { ^$f }
            }
            0
        } catch { $env.LAST_EXIT_CODE? | default 1 })
        if $rc != 0 {
            print -e $"blast: ($phase) hook '($f)' failed \(exit ($rc)\)"
            return $rc
        }
    }
    0
}

# deactivate: leave the active blast env. A failing deactivate hook is
# reported, and the env is left all the same.
def --env deactivate [] {
    if '_BLAST_OLD' not-in $env { return }
    let dir = $env._BLAST_ENV_DIR
    let hooks = ('_BLAST_NO_HOOKS' not-in $env)
    if $hooks { _blast_hooks pre-deactivate $dir | ignore }
    let old = ($env._BLAST_OLD | from json)
    for k in ($old | columns) {
        let v = ($old | get $k)
        if $v == null { hide-env -i $k } else { load-env {$k: $v} }
    }
    let p = $env._BLAST_OLD_PROMPT
    if $p.set { $env.PROMPT_COMMAND = $p.value } else { hide-env -i PROMPT_COMMAND }
    hide-env -i _BLAST_OLD _BLAST_OLD_PROMPT _BLAST_ENV_DIR
    if $hooks { _blast_hooks post-deactivate $dir | ignore }
}

def --env _blast_activate [dir: string, name: string, vars: record] {
    deactivate
    if (_blast_hooks pre-activate $dir) != 0 {
        print -e $"blast: env '($name)' not activated"
        return
    }
    let keys = ([VIRTUAL_ENV VIRTUAL_ENV_PROMPT PATH PYTHONHOME] | append ($vars | columns))
    $env._BLAST_OLD = ($keys | reduce -f {} {|k, acc| $acc | upsert $k ($env | get -o $k) } | to json -r)
    $env._BLAST_OLD_PROMPT = {set: ('PROMPT_COMMAND' in $env), value: ($env.PROMPT_COMMAND? | default '')}
    $env._BLAST_ENV_DIR = $dir
    let path = (if ($env.PATH | describe) == 'string' { $env.PATH | split row (char esep) } else { $env.PATH })
    hide-env -i PYTHONHOME
    load-env {VIRTUAL_ENV: $dir, VIRTUAL_ENV_PROMPT: $"blast:($name)", PATH: ($path | prepend ($dir | path join 'bin'))}
    load-env $vars
    if ($env.VIRTUAL_ENV_DISABLE_PROMPT? | default '' | is-empty) {
        let old = $env._BLAST_OLD_PROMPT
        $env.PROMPT_COMMAND = {||
            let p = if not $old.set { '' } else if ($old.value | describe) =~ '^closure' { do $old.value } else { $old.value }
            # a prefix another env's prompt shows is not shown twice
            $"\(blast:($name)\) ($p | str replace -r '^\((blast:[^)]*|\.?venv)\) ' '')"
        }
    }
    if (_blast_hooks post-activate $dir) != 0 {
        $env._BLAST_NO_HOOKS = '1'
        deactivate
        hide-env _BLAST_NO_HOOKS
        print -e $"blast: env '($name)' not activated"
    }
}

