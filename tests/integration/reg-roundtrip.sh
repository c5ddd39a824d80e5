#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# push then pull into another store gives the same tree (modes, mtimes,
# symlinks, bytes, extended attributes of files and directories) and the
# same env state; pushing again uploads nothing;
# pulling again into the same store fetches nothing; a layer is a plain
# tar+zstd, `skopeo inspect` reads the pushed artifact and `skopeo copy`
# carries it to another repository, from which it pulls as the same env.
set -euo pipefail
. "$(dirname "$0")/reg-lib.sh"
reg_setup
reg_start

reg_tree "$W/src" alpha beta=2.0 gamma
f=$(find "$W/src" -type f -name '*.py' | sort | head -n 1)
setfattr -n user.team -v blast "$f"
setfattr -n user.bin -v 0sAAEC/w== "$f"
setfattr -n user.dir -v kept "$(dirname "$f")"
xattrs_of() { (cd "$1" && getfattr -R -d -m '^user\.' . 2>/dev/null); }
ctl_expect 0 import e1 "$W/src"
ctl_expect 0 vars e1 set GREETING=hello
ctl_expect 0 --json push e1 "$REG/team/e1:v1"
assert_eq "$(json_field uploaded <<<"$OUT")" "$(json_field blobs <<<"$OUT")" "first push uploads every blob"
digest=$(json_field digest <<<"$OUT")

ctl_expect 0 --json push e1 "$REG/team/e1:v1"
assert_eq "$(json_field uploaded <<<"$OUT")" 0 "second push uploads nothing"
assert_eq "$(json_field digest <<<"$OUT")" "$digest" "same manifest"

ctl_run bh2 --json pull "$REG/team/e1:v1"
[ "$RC" -eq 0 ] || die "pull: $ERR"
assert_eq "$(json_field name <<<"$OUT")" e1 "name from the repository"
assert_eq "$(json_field fetched <<<"$OUT")" "$(json_field layers <<<"$OUT")" "an empty store fetches every layer"
bh2 export e1 "$W/out" 2>/dev/null
assert_same_tree "$W/src" "$W/out"
assert_contains "$(xattrs_of "$W/src")" 'user.team="blast"'
assert_eq "$(xattrs_of "$W/src")" "$(xattrs_of "$W/out")" "extended attributes travel"
assert_eq "$(bh2 vars e1 list)" "GREETING=hello" "env state travels"
assert_eq "$(bh2 --json list | json_field envs | tr -d ' ')" \
	"$(bctl --json list | json_field envs | tr -d ' ')" "same env record and sizes"
store_clean "$H2"

ctl_run bh2 --json pull "$REG/team/e1@$digest" again
[ "$RC" -eq 0 ] || die "pull by digest: $ERR"
assert_eq "$(json_field fetched <<<"$OUT")" 0 "a store with the content fetches no layer"
bh2 export again "$W/out2" 2>/dev/null
assert_same_tree "$W/src" "$W/out2"

# a content layer unpacks with plain tar: beta's package files
mkdir "$W/untar"
layer=$(curl -sf "http://$REG/v2/team/e1/manifests/v1" -H 'Accept: application/vnd.oci.image.manifest.v1+json' |
	"$BLAST_TEST_PYTHON" -c 'import json,sys; print([l["digest"] for l in json.load(sys.stdin)["layers"] if l["annotations"]["org.opencontainers.image.title"] == "beta"][0])')
curl -sf "http://$REG/v2/team/e1/blobs/$layer" | tar --zstd -x -C "$W/untar"
cmp "$W/untar/beta/sub/data.bin" "$W/src/lib/python3.11/site-packages/beta/sub/data.bin" ||
	die "layer content differs"

if command -v skopeo >/dev/null; then
	skopeo inspect --tls-verify=false "docker://$REG/team/e1:v1" >"$W/inspect.json" 2>"$W/inspect.err" ||
		die "skopeo inspect: $(cat "$W/inspect.err")"
	assert_contains "$(cat "$W/inspect.json")" "$digest" "skopeo sees the manifest"
	# skopeo copy carries it to another repository as is: the copy
	# pulls into a store as the same env
	skopeo copy --src-tls-verify=false --dest-tls-verify=false \
		"docker://$REG/team/e1:v1" "docker://$REG/other/copied:v1" \
		>"$W/copy.out" 2>"$W/copy.err" ||
		die "skopeo copy: $(cat "$W/copy.err")"
	ctl_run bh2 --json pull "$REG/other/copied:v1" copied
	[ "$RC" -eq 0 ] || die "pull of skopeo's copy: $ERR"
	bh2 export copied "$W/out3" 2>/dev/null
	assert_same_tree "$W/src" "$W/out3"
fi
