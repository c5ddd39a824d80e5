# blast: the `blast` function for PowerShell (blastctl shell-init pwsh).
# In your $PROFILE:   Invoke-Expression ((blastctl shell-init pwsh) -join "`n")
#   blast start [NAME] [ARGS]  blastctl start, then activate in this shell
#   blast kill [NAME|DIR]      deactivate (the active env by default), then
#                              blastctl kill
#   blast COMMAND [ARGS]       blastctl COMMAND ARGS
# Only blastctl's stdout (the mountpoint) is read; its status lines go to
# stderr untouched. $LASTEXITCODE is blastctl's.
function global:blast {
    # the program, never this function
    $ctl = Get-Command -Name blastctl -CommandType Application -ErrorAction Stop | Select-Object -First 1
    $rest = @($args | Select-Object -Skip 1)
    if ($args.Count -ge 1 -and $args[0] -eq 'start') {
        $mnt = & $ctl start --attach @rest
        if ($LASTEXITCODE -ne 0) { return }
        $script = Join-Path (Join-Path ([string]$mnt) 'bin') 'activate.ps1'
        if (-not (Test-Path -LiteralPath $script)) {
            [Console]::Error.WriteLine("blast: no activate script at '$script'")
            $global:LASTEXITCODE = 1
            return
        }
        . $script
        # the env's resource limits (policy res.*) for this shell, if any
        & $ctl policy ($env:VIRTUAL_ENV_PROMPT -replace '^blast:', '') enter --quiet $PID
    } elseif ($args.Count -ge 1 -and $args[0] -eq 'kill') {
        $act = $false
        $dir = $global:_BLAST_ENV_DIR
        if ($null -ne $dir) {
            $t = @($rest | Where-Object { -not "$_".StartsWith('-') }) | Select-Object -Last 1
            if ($null -eq $t) {
                $rest += $dir
                $act = $true
            } elseif ("blast:$t" -eq $env:VIRTUAL_ENV_PROMPT) {
                $act = $true
            } else {
                foreach ($c in @($t, (Join-Path $t '.blast'))) {
                    $r = Resolve-Path -LiteralPath $c -ErrorAction SilentlyContinue
                    if ($null -ne $r -and $r.Path -eq $dir) { $act = $true }
                }
            }
        }
        if ($act) {
            & $ctl policy ($env:VIRTUAL_ENV_PROMPT -replace '^blast:', '') leave --quiet $PID
            deactivate
        }
        & $ctl kill @rest
        $rc = $LASTEXITCODE
        if ($rc -ne 0 -and $act) {
            # still mounted: back to where we were
            . (Join-Path (Join-Path $dir 'bin') 'activate.ps1')
            $global:LASTEXITCODE = $rc
        }
    } else {
        & $ctl @args
    }
}
