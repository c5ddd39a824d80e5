#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Version rules on an unmounted env (imported, so the state comes from
# the first check's full rescan): rules set/unset/list, check reports an
# installed version a rule excludes (and not a rule for a distribution
# that is absent), bad names and specifiers are usage errors that change
# nothing, and snapshots carry the rules.
set -euo pipefail
. "$(dirname "$0")/ctl-lib.sh"
require_python
ctl_setup
SP=lib/python3.11/site-packages
mkdir -p "$W/src/$SP/foo-2.0.dist-info" "$W/src/bin"
printf 'Metadata-Version: 2.1\nName: Foo\nVersion: 2.0\n' >"$W/src/$SP/foo-2.0.dist-info/METADATA"
ctl_expect 0 import e "$W/src" --python "$BLAST_TEST_PYTHON"

ctl_expect 0 check e
assert_contains "$ERR" "package state rebuilt from a full rescan" "first check"
assert_eq "$OUT" "No broken requirements found." "no rules"

ctl_expect 0 rules e set FOO '<2'
ctl_expect 0 rules e set absent '==1.0'
ctl_expect 0 rules e
assert_eq "$OUT" "absent ==1.0
foo <2" "list"
ctl_expect 1 check e
assert_contains "$OUT" "rules: foo 2.0 is excluded by the rule foo<2" "check"
assert_not_contains "$OUT" "absent" "a rule does not require"
ctl_expect 0 save e s1

ctl_expect 2 rules e set 'bad name' '<2'
ctl_expect 2 rules e set foo '=>2'
assert_contains "$ERR" "invalid specifier '=>2'" "bad spec"
ctl_expect 0 rules e unset foo
ctl_expect 1 rules e unset foo
ctl_expect 0 check e
ctl_expect 0 load e s1
ctl_expect 1 check e
assert_contains "$OUT" "rules: foo 2.0 is excluded by the rule foo<2" "after load"
bctl --json rules e | "$BLAST_TEST_PYTHON" -c '
import json, sys
j = json.load(sys.stdin)
assert j["rules"] == [{"name": "absent", "spec": "==1.0"}, {"name": "foo", "spec": "<2"}], j'
exit 0
