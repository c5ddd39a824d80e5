# blast: activate env 'proj' (written by blastctl; regenerated at every
# start, `vars` change and load). In PowerShell:   . .blast/bin/activate.ps1
# `deactivate` restores PATH, the prompt, PYTHONHOME and every variable the
# env set, exactly as before (unset stays unset); `deactivate
# -NonDestructive` keeps the function. Hooks: executables and *.ps1 files
# in hooks/{pre,post}-{activate,deactivate}.d/ run in name order.

# Run DIR/hooks/PHASE.d/*: *.ps1 dot-sourced (in this function's scope:
# a hook changes the session with $global: or $env:), other executables
# run (files for other shells skipped). The status of the first that fails
# (reported on stderr), else 0.
function global:_blast_hooks([string]$Phase, [string]$Dir) {
    $d = Join-Path (Join-Path $Dir 'hooks') "$Phase.d"
    if (-not (Test-Path -LiteralPath $d -PathType Container)) { return 0 }
    foreach ($h in (Get-ChildItem -LiteralPath $d -File | Sort-Object Name)) {
        $rc = 0
        if ($h.Extension -in @('.sh', '.fish', '.nu', '.csh')) { continue }
        if ($h.Extension -eq '.ps1') {
            # output goes to the host, not into this function's result
            try { . $h.FullName | Out-Host } catch { $rc = 1 }
        } elseif ($IsWindows -or ($h.UnixMode -match '^-..x')) {
            $env:BLAST_HOOK = $Phase
            $env:BLAST_ENV_DIR = $Dir
            & $h.FullName | Out-Host
            $rc = $LASTEXITCODE
            Remove-Item -LiteralPath @('Env:BLAST_HOOK', 'Env:BLAST_ENV_DIR') -ErrorAction SilentlyContinue
        } else {
            continue
        }
        if ($rc -ne 0) {
            [Console]::Error.WriteLine("blast: $Phase hook '$($h.FullName)' failed (exit $rc)")
            return $rc
        }
    }
    return 0
}

# Set environment variable K to V, remembering what it was (null: unset).
# V is untyped: a [string] parameter would turn $null into ''.
function global:_blast_var([string]$K, $V) {
    if (-not $global:_BLAST_OLD.ContainsKey($K)) {
        $global:_BLAST_OLD[$K] = [Environment]::GetEnvironmentVariable($K)
    }
    if ($null -eq $V) {
        Remove-Item -LiteralPath "Env:$K" -ErrorAction SilentlyContinue
    } else {
        Set-Item -LiteralPath "Env:$K" -Value $V
    }
}

# Leave the active blast env. A failing deactivate hook is reported
# ($LASTEXITCODE 1) and the env is left all the same.
function global:deactivate([switch]$NonDestructive) {
    $st = 0
    if ($null -ne $global:_BLAST_OLD) {
        $dir = $global:_BLAST_ENV_DIR
        $hooks = -not $global:_BLAST_NO_HOOKS
        if ($hooks -and (_blast_hooks 'pre-deactivate' $dir) -ne 0) { $st = 1 }
        foreach ($k in @($global:_BLAST_OLD.Keys)) {
            $v = $global:_BLAST_OLD[$k]
            if ($null -eq $v) {
                Remove-Item -LiteralPath "Env:$k" -ErrorAction SilentlyContinue
            } else {
                Set-Item -LiteralPath "Env:$k" -Value $v
            }
        }
        if ($global:_BLAST_PROMPT_SET) {
            if ($null -eq $global:_BLAST_OLD_PROMPT) {
                Remove-Item -LiteralPath Function:prompt -ErrorAction SilentlyContinue
            } else {
                Set-Item -LiteralPath Function:global:prompt -Value $global:_BLAST_OLD_PROMPT
            }
        }
        Remove-Variable -Scope Global -Name @('_BLAST_OLD', '_BLAST_OLD_PROMPT', '_BLAST_PROMPT_SET', '_BLAST_ENV_DIR') -ErrorAction SilentlyContinue
        if ($hooks -and (_blast_hooks 'post-deactivate' $dir) -ne 0) { $st = 1 }
    }
    if (-not $NonDestructive) {
        Remove-Item -LiteralPath @('Function:deactivate', 'Function:_blast_hooks', 'Function:_blast_var') -ErrorAction SilentlyContinue
    }
    if ($st -ne 0) { $global:LASTEXITCODE = $st }
}

# Leave the env that is active, if any (hooks included).
deactivate -NonDestructive

$blastDir = '@WORK@/proj/.blast'
if ((_blast_hooks 'pre-activate' $blastDir) -ne 0) {
    [Console]::Error.WriteLine("blast: env 'proj' not activated")
    Remove-Variable -Name blastDir -ErrorAction SilentlyContinue
    deactivate
    return
}

$global:_BLAST_OLD = @{}
$global:_BLAST_ENV_DIR = $blastDir
_blast_var 'VIRTUAL_ENV' $blastDir
_blast_var 'VIRTUAL_ENV_PROMPT' 'blast:proj'
_blast_var 'PATH' ((Join-Path $blastDir 'bin') + [System.IO.Path]::PathSeparator + $env:PATH)
_blast_var 'PYTHONHOME' $null

# The env's variables (blastctl vars).
_blast_var 'EMPTY' ''
_blast_var 'NL' 'a
b'
_blast_var 'QUOTED' 'it''s "both" \ $x'
if (-not $env:VIRTUAL_ENV_DISABLE_PROMPT) {
    $global:_BLAST_OLD_PROMPT = $function:prompt
    $global:_BLAST_PROMPT_SET = $true
    function global:prompt {
        $p = ''
        if ($null -ne $global:_BLAST_OLD_PROMPT) { $p = [string](& $global:_BLAST_OLD_PROMPT) }
        # a prefix another env's prompt shows is not shown twice
        '(blast:proj) ' + ($p -replace '^\((blast:[^)]*|\.?venv)\) ', '')
    }
}

if ((_blast_hooks 'post-activate' $blastDir) -ne 0) {
    $global:_BLAST_NO_HOOKS = $true
    deactivate
    Remove-Variable -Scope Global -Name _BLAST_NO_HOOKS -ErrorAction SilentlyContinue
    [Console]::Error.WriteLine("blast: env 'proj' not activated")
}
Remove-Variable -Name blastDir -ErrorAction SilentlyContinue
