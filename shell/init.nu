# blast: the `blast` command for nushell (blastctl shell-init nu). Save it
# and source it from config.nu:
#   blastctl shell-init nu | save -f ~/.config/nushell/blast.nu
#   source ~/.config/nushell/blast.nu
#   blast start [NAME] [ARGS]  blastctl start, then activate in this shell
#   blast kill [NAME|DIR]      deactivate (the active env by default), then
#                              blastctl kill
#   blast COMMAND [ARGS]       blastctl COMMAND ARGS
# Only blastctl's stdout (the mountpoint) is read; its status lines go to
# stderr untouched. A failing blastctl is an error carrying its exit code.
@INCLUDE blast-lib.nu@

def --env --wrapped blast [...args] {
    let rest = ($args | skip 1)
    let cmd = ($args | get -o 0 | default '')
    if $cmd == 'start' {
        let mnt = (^blastctl start --attach ...$rest | str trim)
        let data = ($mnt | path join 'bin' 'activate.json')
        if not ($data | path exists) { error make {msg: $"blast: no activation data at '($data)'"} }
        let a = (open $data)
        _blast_activate $a.dir $a.name $a.vars
        # the env's resource limits (policy res.*) for this shell, if any
        ^blastctl policy $a.name enter --quiet $nu.pid
    } else if $cmd == 'kill' {
        mut rest = $rest
        mut act = false
        let dir = ($env._BLAST_ENV_DIR? | default '')
        if $dir != '' {
            let t = ($rest | where {|x| not ($x | str starts-with '-') } | last 1)
            if ($t | is-empty) {
                $rest = ($rest | append $dir)
                $act = true
            } else {
                let t = $t.0
                let cands = ([$t ($t | path join '.blast')] | where {|p| $p | path exists } | each {|p| $p | path expand })
                if $"blast:($t)" == ($env.VIRTUAL_ENV_PROMPT? | default '') or ($dir in $cands) { $act = true }
            }
        }
        if $act {
            try { ^blastctl policy ($env.VIRTUAL_ENV_PROMPT | str replace 'blast:' '') leave --quiet $nu.pid }
            deactivate
        }
        let r = (try { ^blastctl kill ...$rest; 0 } catch { $env.LAST_EXIT_CODE? | default 1 })
        if $r != 0 {
            if $act {
                let a = (open ($dir | path join 'bin' 'activate.json'))
                _blast_activate $a.dir $a.name $a.vars
            }
            error make {msg: $"blastctl kill failed \(exit ($r)\)"}
        }
    } else {
        ^blastctl ...$args
    }
}
