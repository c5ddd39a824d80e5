#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# PowerShell cannot be installed here, so its scripts are checked by a
# real PowerShell grammar instead of being run: every generated
# activate.ps1 (for a path with a space and quotes, and variables with
# quotes, typographic quotes and newlines) and `blastctl shell-init pwsh`
# parse with tree-sitter-powershell without an ERROR or MISSING node. The
# logic is reviewed, not executed (README says so).
set -euo pipefail
. "$(dirname "$0")/shell-lib.sh"
require_cmd node
[ -d "$BLAST_NPM_DIR/node_modules/tree-sitter-powershell" ] ||
	skip "tree-sitter-powershell not installed (.ci/install-deps puts it in $BLAST_NPM_DIR)"
shell_setup

bctl vars proj set "Q=it's \"both\" \$(rm -rf /) \`n" "CURLY=a’b‘c" "NL=a
b" "EMPTY=" 2>/dev/null
cp "$M/bin/activate.ps1" "$W/activate.ps1"
bctl shell-init pwsh >"$W/init.ps1"
# a broken script must be caught, or the check proves nothing
printf 'function f { if ($x -eq ) {\n' >"$W/broken.ps1"

cat >"$W/parse.mjs" <<'JS'
import { createRequire } from 'module';
import { readFileSync } from 'fs';
const require = createRequire(process.env.BLAST_NPM_DIR + '/node_modules/');
const Parser = (await import(require.resolve('tree-sitter'))).default;
const PowerShell = (await import(require.resolve('tree-sitter-powershell'))).default;
const parser = new Parser();
parser.setLanguage(PowerShell);
let bad = 0;
for (const f of process.argv.slice(2)) {
  const tree = parser.parse(readFileSync(f, 'utf8'));
  const errs = [];
  const walk = (n) => {
    if (n.type === 'ERROR' || n.isMissing) errs.push(`${n.type} at ${n.startPosition.row + 1}:${n.startPosition.column + 1}`);
    for (const c of n.children) walk(c);
  };
  walk(tree.rootNode);
  console.log(`${f}: ${errs.length ? errs.join(', ') : 'ok'}`);
  if (errs.length) bad++;
}
process.exit(bad ? 1 : 0);
JS
out=$(BLAST_NPM_DIR=$BLAST_NPM_DIR node --no-deprecation "$W/parse.mjs" "$W/activate.ps1" "$W/init.ps1" 2>&1) ||
	die "PowerShell scripts do not parse: $out"
note "$out"
if out=$(BLAST_NPM_DIR=$BLAST_NPM_DIR node --no-deprecation "$W/parse.mjs" "$W/broken.ps1" 2>&1); then
	die "the parser accepts a broken script: $out"
fi
exit 0
