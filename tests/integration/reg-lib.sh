# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Helpers for the registry tests (reg-*.sh), on top of ctl-lib.sh:
#
#     reg_setup                  # ctl_setup + skip without docker-registry
#     reg_start [USER PASS]      # a registry on 127.0.0.1 ($REG = host:port,
#                                # $REGDIR its storage), with htpasswd auth
#                                # when USER is given; killed at exit by pid
#     reg_tree DIR [PKG...]      # a venv-like tree with packages PKG (name
#                                # or name=version) and a bin/ and lib64
#     bh2 ARGS...                # blastctl on a second store ($H2)
#
# shellcheck source=tests/integration/ctl-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/ctl-lib.sh"

reg_setup() {
	require_cmd docker-registry curl
	ctl_setup
	H2=$W/home2
}

bh2() {
	"$BLASTCTL" --home "$H2" "$@"
}

# _reg_port: a port that was free a moment ago.
_reg_port() {
	"$BLAST_TEST_PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

reg_start() {
	local user=${1:-} pass=${2:-} port deadline code try
	REGDIR=$W/reg
	mkdir -p "$REGDIR"
	for try in 1 2 3 4 5; do
		port=$(_reg_port)
		{
			echo "version: 0.1"
			echo "log: {level: warn}"
			echo "storage: {filesystem: {rootdirectory: $REGDIR}, delete: {enabled: true}}"
			echo "http: {addr: 127.0.0.1:$port}"
			if [ -n "$user" ]; then
				require_cmd htpasswd
				htpasswd -Bbn "$user" "$pass" >"$W/htpasswd"
				echo "auth: {htpasswd: {realm: blast-test, path: $W/htpasswd}}"
			fi
		} >"$W/reg.yml"
		docker-registry serve "$W/reg.yml" >"$W/reg.log" 2>&1 &
		REGPID=$!
		on_exit kill_pid "$REGPID"
		REG=127.0.0.1:$port
		deadline=$(_lib_deadline 60)
		while _lib_pid_alive "$REGPID"; do
			code=$(curl -s -o /dev/null -w '%{http_code}' "http://$REG/v2/" || true)
			[ "$code" = 200 ] || [ "$code" = 401 ] && return 0
			_lib_past "$deadline" && die "registry not ready after 60s: $(cat "$W/reg.log")"
			sleep 0.05
		done
		# it exited (the port was taken meanwhile): try another one
	done
	die "registry did not start: $(cat "$W/reg.log")"
}

# reg_stop: stop the registry (its storage stays).
reg_stop() {
	kill_pid "$REGPID"
}

# reg_tree DIR [PKG[=VERSION]...]: a tree shaped like a venv: pyvenv.cfg,
# bin/ with a script and a symlink, lib64 -> lib, site-packages with one
# package directory, its dist-info and bytecode per PKG (content fixed by
# name and version, 200 KiB of it incompressible), and a loose module.
reg_tree() {
	local dir=$1 p name ver site
	shift
	site=$dir/lib/python3.11/site-packages
	mkdir -p "$dir/bin" "$site"
	printf 'home = /usr/bin\nversion = 3.11.2\n' >"$dir/pyvenv.cfg"
	printf '#!/bin/sh\necho tool\n' >"$dir/bin/tool"
	chmod 755 "$dir/bin/tool"
	ln -s python3 "$dir/bin/python"
	ln -s lib "$dir/lib64"
	echo 'loose = 1' >"$site/loose.py"
	for p in "$@"; do
		name=${p%%=*}
		ver=1.0
		[ "$p" = "$name" ] || ver=${p#*=}
		mkdir -p "$site/$name/__pycache__" "$site/$name-$ver.dist-info" "$site/$name/sub"
		printf 'VERSION = "%s"\n' "$ver" >"$site/$name/__init__.py"
		"$BLAST_TEST_PYTHON" -c 'import random,sys; random.seed(sys.argv[1]); sys.stdout.buffer.write(random.randbytes(200*1024))' "$name$ver" >"$site/$name/sub/data.bin"
		head -c 1000 /dev/urandom >"$site/$name/__pycache__/__init__.cpython-311.pyc"
		printf 'Metadata-Version: 2.1\nName: %s\nVersion: %s\n' "$name" "$ver" >"$site/$name-$ver.dist-info/METADATA"
		printf 'pip\n' >"$site/$name-$ver.dist-info/INSTALLER"
		touch "$site/$name-$ver.dist-info/RECORD"
	done
}

# json_field KEY: KEY of the JSON object on stdin.
json_field() {
	"$BLAST_TEST_PYTHON" -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}

# store_clean HOME: blastctl check --store finds nothing.
store_clean() {
	"$BLASTCTL" --home "$1" check --store >/dev/null 2>"$W/check.err" ||
		die "store $1 not clean: $(cat "$W/check.err")"
}

# store_summary HOME: envs and blob counts of a store (not its map usage or
# its du: pack files are written and given back).
store_summary() {
	"$BLASTCTL" --home "$1" --json list | "$BLAST_TEST_PYTHON" -c 'import json,sys; j=json.load(sys.stdin); j["store"].pop("map_used_bytes", None); j["store"].pop("disk_bytes", None); print(json.dumps(j, sort_keys=True))'
}
