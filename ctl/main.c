/* SPDX-License-Identifier: MIT */
/*
 * main.c - blastctl's entry: global options, the command table, help,
 * per-command option parsing and the lazily opened store. Each command
 * lives in its own cmd-NAME.c; ctl.h says how to add one.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "store.h"

static int cmd_help(struct ctl *c, int argc, char **argv);

/* Keep in the order `blastctl help` should list them. */
static const struct ctl_cmd ctl_cmds[] = {
    {"init", ctl_cmd_init, "[--json]",
     "create the store if missing and print its directory",
     "  --json          print {\"path\": DIR}\n"},
    {"create", ctl_cmd_create, "NAME [--python PATH|X.Y | --from ENV[@SNAP]]",
     "create env NAME: the venv layout with pip, for one interpreter",
     "  --python PATH   base interpreter: a path, a name on PATH, or X.Y\n"
     "                  for pythonX.Y on PATH (default: python3 on PATH)\n"
     "  --from REF      clone env ENV or its snapshot SNAP in O(1); a\n"
     "                  mounted ENV is saved first as an automatic\n"
     "                  snapshot; the clone keeps ENV's python\n"},
    {"start", ctl_cmd_start,
     "[NAME] [--dir DIR] [--python PATH|X.Y] [--attach]",
     "mount env NAME at DIR/.blast (creating it if missing)",
     "  NAME            default: the env DIR/.blast/.blast-env names (a\n"
     "                  moved project keeps its env), else derived from\n"
     "                  DIR's name\n"
     "  --dir DIR       project directory (default: the current one)\n"
     "  --python PATH   interpreter if NAME must be created (see "
     "create)\n"
     "  --attach        if NAME is already mounted at DIR/.blast, just\n"
     "                  print the mountpoint (the blast function uses it)\n"},
    {"kill", ctl_cmd_kill, "[NAME|DIR] [--force]",
     "flush, unmount and stop an env's blastfs",
     "  NAME|DIR        an env, or a directory whose .blast (or itself) "
     "is\n"
     "                  the mount (default: ./.blast)\n"
     "  --force         detach a busy mount lazily instead of failing\n"},
    {"status", ctl_cmd_status, "[NAME] [--json]",
     "show a mounted env's live daemon metrics",
     "  NAME            default: the env mounted at ./.blast\n"
     "  --json          print the daemon's status object as is\n"},
    {"save", ctl_cmd_save, "[NAME] SNAP [-m MSG]",
     "save the env's current state as snapshot SNAP (O(1))",
     "  NAME            default: the env mounted at ./.blast\n"
     "  -m, --message MSG\n"
     "                  a one-line note kept with the snapshot\n"},
    {"load", ctl_cmd_load, "[NAME] SNAP",
     "make snapshot SNAP the env's current state (O(1))",
     "  NAME            default: the env mounted at ./.blast\n"
     "  A current state no snapshot holds is saved first as an automatic\n"
     "  snapshot auto-YYYYmmdd-HHMMSS-N (named on stderr). Mounted, load\n"
     "  is refused while a file is open for writing.\n"},
    {"undo", ctl_cmd_undo, "[NAME]",
     "load the automatic snapshot taken before the current state",
     "  NAME            default: the env mounted at ./.blast\n"
     "  The current state is placed by the oldest snapshot holding it;\n"
     "  undo loads the newest automatic snapshot older than that (or, if\n"
     "  no snapshot holds it, the newest automatic one), so each undo\n"
     "  steps further back. The undone state is saved as load does.\n"},
    {"snapshots", ctl_cmd_snapshots, "[NAME] [--keep-auto N] [--json]",
     "list an env's snapshots: time, kind, logical size, message",
     "  NAME            default: the env mounted at ./.blast\n"
     "  --keep-auto N   keep the N newest automatic snapshots (default 20),\n"
     "                  from now on and at once\n"
     "  --json          print {\"snapshots\": [...]}\n"},
    {"diff", ctl_cmd_diff, "[NAME] A [B] [--json]",
     "show what changed from snapshot A to B (default: the live state)",
     "  NAME            default: the env mounted at ./.blast; with two\n"
     "                  operands the first is NAME (diff NAME A), so to\n"
     "                  compare two snapshots name the env: diff NAME A B\n"
     "  Lines '+ PATH' (added), '- PATH' (removed), '~ PATH' (changed:\n"
     "  type, mode, owner, size, mtime or content), sorted by path and\n"
     "  relative to the env root; a directory added or removed is one\n"
     "  line ending in '/'. Before them, packages in site-packages:\n"
     "  'NAME OLD -> NEW', '+NAME VERSION', '-NAME VERSION'. Exits 0\n"
     "  whether or not anything differs.\n"
     "  --json          print {\"from\", \"to\", \"added\", \"removed\",\n"
     "                  \"changed\", \"packages\": [{name, from, to}]}\n"},
    {"rm-snapshot", ctl_cmd_rm_snapshot, "[NAME] SNAP",
     "delete snapshot SNAP and free what only it used",
     "  NAME            default: the env mounted at ./.blast\n"},
    {"vars", ctl_cmd_vars,
     "[NAME] [set KEY=VALUE... | unset KEY... | list [--json]]",
     "the variables activating the env exports (snapshots keep them)",
     "  NAME            default: the env mounted at ./.blast\n"
     "  set KEY=VALUE   set variables (KEY: a shell identifier; PATH,\n"
     "                  VIRTUAL_ENV, PYTHONHOME, the prompt's and the\n"
     "                  like are refused)\n"
     "  unset KEY       remove variables\n"
     "  list            print KEY=VALUE lines (the default)\n"
     "  --json          with list: print {\"vars\": {KEY: VALUE}}\n"
     "  Activate exports them and deactivate restores what was there. A\n"
     "  mounted env's bin/activate* scripts are rewritten at once.\n"},
    {"shell-init", ctl_cmd_shell_init, "bash|zsh|sh|dash|fish|pwsh|nu|csh|tcsh",
     "print the `blast` shell function for an rc file",
     "  bash, zsh       eval \"$(blastctl shell-init bash)\"\n"
     "  sh, dash        eval \"$(blastctl shell-init sh)\" (in ~/.profile or\n"
     "                  $ENV)\n"
     "  fish            blastctl shell-init fish | source\n"
     "  pwsh            Invoke-Expression ((blastctl shell-init pwsh) "
     "-join \"`n\")\n"
     "  nu              blastctl shell-init nu | save -f blast.nu; "
     "source blast.nu\n"
     "  csh, tcsh       eval \"`blastctl shell-init tcsh`\" (an alias)\n"
     "  blast start [NAME] [ARGS] starts (see start) and activates in the\n"
     "  shell; blast kill [NAME|DIR] deactivates and kills; any other\n"
     "  command goes to blastctl as is, with its exit status.\n"},
    {"destroy", ctl_cmd_destroy, "NAME [--force]",
     "delete env NAME and its snapshots, freeing their data",
     "  --force         stop the env's blastfs first if it is mounted\n"},
    {"policy", ctl_cmd_policy,
     "[NAME] [show | set KEY VALUE... | unset KEY | enter PID | leave PID]\n"
     "                       [--json] [--quiet] [--confine-shell]",
     "show or change what an env may touch, use and reach",
     "  NAME            default: the env mounted at ./.blast\n"
     "  Keys (sizes take K, M, G, T suffixes; patterns are paths\n"
     "  relative to the env root, '*' within a component, '**' across):\n"
     "    fs.readonly PATTERN...   writes under these paths fail (EROFS)\n"
     "    fs.hidden PATTERN...     these paths do not exist (ENOENT)\n"
     "    fs.max-file-size SIZE    larger files fail (EFBIG)\n"
     "    fs.quota SIZE            the env's size limit (EDQUOT, df)\n"
     "    res.memory SIZE, res.cpu CPUS, res.pids N, res.io-read BPS,\n"
     "    res.io-write BPS         limits for 'blastctl run'\n"
     "    res.memory-soft SIZE     reclaimed down to this first\n"
     "                             (memory.high, soft_limit_in_bytes)\n"
     "    res.cpu-weight N, res.io-weight N\n"
     "                             shares against others, 1 to 10000\n"
     "                             (100: an equal share)\n"
     "    net.mode none|loopback|filtered|host\n"
     "                             network for 'blastctl run'\n"
     "  Network rules (net.mode filtered, implied when one is set: a\n"
     "  veth to the host, nftables rules, a DNS forwarder; root):\n"
     "    net.allow-ip CIDR...     outbound to these IPv4 addresses (the\n"
     "                             env has no IPv6: always denied)\n"
     "    net.allow-port PORT[-PORT][/tcp|/udp]...\n"
     "                             outbound to these ports\n"
     "    net.allow-domain NAME... names the env may resolve and reach\n"
     "                             (*.NAME: every name below NAME), over\n"
     "                             UDP or TCP; an address until its TTL\n"
     "    net.inbound HOSTPORT[:ENVPORT][/tcp|/udp]...\n"
     "                             publish an env port on the host\n"
     "    net.dns ADDR...          DNS servers the forwarder asks\n"
     "    net.bandwidth [up RATE] [down RATE]\n"
     "                             bytes/s each way (K, M, G)\n"
     "  With any allow rule set, all other outbound traffic is denied:\n"
     "  a connection must match an allowed address or domain (if any is\n"
     "  set) and an allowed port (if any is set).\n"
     "    host.writable PATH...    host paths 'blastctl run' may write\n"
     "    host.readonly PATH...    host paths it may only read (inside\n"
     "                             writable ones)\n"
     "    host.hidden PATH...      host paths it cannot see (an empty,\n"
     "                             unreadable directory or file instead)\n"
     "    host.sockets PATH...     host unix sockets (or directories of\n"
     "                             them) it may connect and send to\n"
     "  Host paths are absolute, or ~/PATH in the invoking user's home,\n"
     "  with '*', '?' and [...] within a component; 'blastctl run' sees\n"
     "  the host read-only but for the project, its .blast, a private\n"
     "  /tmp and host.writable; $BLAST_HOME is always hidden.\n"
     "  Unix sockets under /run and $BLAST_HOME are hidden, and the\n"
     "  host's abstract ones unreachable (own network namespace, or\n"
     "  Landlock under --net host). blastctl performs CMD's connect,\n"
     "  sendmsg, sendmmsg and sendto with an address (seccomp), with\n"
     "  CMD's uid: a path socket is reached only where CMD may write\n"
     "  (not host.readonly) or in host.sockets, any other gets\n"
     "  ECONNREFUSED; /proc/self paths do not resolve (ENOENT),\n"
     "  SCM_CREDENTIALS fails, a server sees blastctl's pid as peer.\n"
     "    shell.confine true|false\n"
     "                             'blast start' opens a shell under\n"
     "                             'blastctl run' (all of the above\n"
     "                             applies to it) instead of activating\n"
     "                             the calling shell; leaving it\n"
     "                             deactivates (bash, zsh, dash, fish;\n"
     "                             other shells' enter fails)\n"
     "  set replaces a key's value; a mounted env applies it at once.\n"
     "  enter PID puts process PID (a shell) in the env's res.* limits\n"
     "  (one cgroup per env, blast-env-NAME; needs root or a delegated\n"
     "  cgroup, else setrlimit where that can express them), leave PID\n"
     "  moves it back; net.mode only applies to 'blastctl run'. The\n"
     "  blast shell function enters at 'blast start' and leaves at\n"
     "  'blast kill'.\n"
     "  -q, --quiet     enter/leave: say nothing when there is nothing\n"
     "                  to do (no limits, or PID was never entered)\n"
     "  --confine-shell enter: with shell.confine true, print 'confine'\n"
     "                  and change nothing (the shell function then\n"
     "                  runs a confined shell); without it enter fails\n"
     "  --json          show as {\"env\", \"policy\": {KEY: VALUE}}\n"},
    {"audit", ctl_cmd_audit, "[NAME] [--json]",
     "list the operations the env's filesystem policy denied",
     "  NAME            default: the env mounted at ./.blast\n"
     "  Oldest first: time, pid, process name, operation, rule, path\n"
     "  (relative to the env root); the newest 1000 are kept.\n"
     "  --json          print {\"env\", \"denials\": [{time, time_ns, pid,\n"
     "                  process, op, rule, path}]}\n"},
    {"run", ctl_cmd_run,
     "[NAME] [--net MODE] [--memory SIZE] [--cpu CPUS] [--pids N]\n"
     "                    [--io-read BPS] [--io-write BPS] "
     "[--unshare pid,ipc,mount]\n"
     "                    [--memory-soft SIZE] [--cpu-weight N] "
     "[--io-weight N]\n"
     "                    -- CMD [ARGS...]",
     "run CMD in the mounted env, confined by its policy",
     "  NAME            default: the env mounted at ./.blast\n"
     "  CMD runs with the env activated (PATH, VIRTUAL_ENV); limits come\n"
     "  from the env's policy (res.*, net.mode), options override them.\n"
     "  Resources via cgroup v2, else cgroup v1, else setrlimit (said on\n"
     "  stderr); a limit none can apply is an error. Exits with CMD's\n"
     "  status (128+N for signal N); SIGINT, SIGTERM, SIGHUP are passed on.\n"
     "  CMD sees the host read-only but for the project, its .blast, a\n"
     "  private /tmp and /dev, and the policy's host.writable paths;\n"
     "  host.hidden, $BLAST_HOME and the sockets under /run are hidden,\n"
     "  other host unix sockets refused but host.sockets (see policy).\n"
     "  It runs with no capabilities, no_new_privs, a seccomp filter\n"
     "  (no mount, setns, unshare, ptrace, bpf, modules, keyrings...) and\n"
     "  its own cgroup namespace. Under sudo, CMD runs as SUDO_UID; a\n"
     "  user without root is confined through a user namespace. Only\n"
     "  cgroup limits need root (else setrlimit where it can express\n"
     "  them, or an error).\n"
     "  --net MODE      none (no network), loopback (only lo), filtered\n"
     "                  (the policy's net.* rules, see policy), host\n"
     "  --memory SIZE   memory limit (K, M, G suffixes)\n"
     "  --cpu CPUS      CPU time, e.g. 0.5 for half a CPU\n"
     "  --pids N        at most N processes and threads\n"
     "  --io-read BPS, --io-write BPS\n"
     "                  block IO bandwidth on the current directory's disk\n"
     "  --unshare LIST  new ipc and/or mount namespaces (pid: CMD always\n"
     "                  has its own PID namespace, ps shows only the run)\n"
     "  --memory-soft SIZE\n"
     "                  memory reclaimed first past SIZE\n"
     "  --cpu-weight N, --io-weight N\n"
     "                  CPU and disk shares, 1 to 10000 (100: equal)\n"
     "  A kill by the memory limit, or forks the pids limit refused, are\n"
     "  said with the limit.\n"},
    {"top", ctl_cmd_top, "[NAME] [--json]",
     "show what running 'blastctl run' sandboxes use",
     "  NAME            only the runs in env NAME (default: all)\n"
     "  Per run: memory (current, peak, limit), CPU time and throttling,\n"
     "  pids, IO bytes (from its cgroups; '-' where none measures it),\n"
     "  and its network connections (remote address, port, state, bytes\n"
     "  each way) from its network namespace's socket tables. Refreshes\n"
     "  every second on a terminal; one sample otherwise.\n"
     "  --json          one sample as {\"sandboxes\": [{env, pid, child,\n"
     "                  net, memory_current, memory_peak, memory_limit,\n"
     "                  cpu_ns, cpu_throttled, cpu_throttled_ns, pids,\n"
     "                  pids_limit, io_read_bytes, io_write_bytes,\n"
     "                  connections: [{proto, local, local_port, remote,\n"
     "                  remote_port, state, bytes_sent, bytes_received}]}]}\n"},
    {"list", ctl_cmd_list, "[--json]",
     "list envs: python, logical and stored size, snapshots, mount",
     "  --json          print envs and store totals as JSON\n"},
    {"import", ctl_cmd_import,
     "NAME DIR [--python PATH] [--threads N] [--json] [--quiet]",
     "import the directory tree DIR as a new env NAME",
     "  --python PATH   base interpreter (default: from DIR/pyvenv.cfg)\n"
     "  --threads N     read and compress with N threads (default: "
     "CPUs)\n"
     "  --json          print the import summary as JSON on stdout\n"
     "  -q, --quiet     no progress line (shown on a terminal) and no\n"
     "                  status lines\n"},
    {"export", ctl_cmd_export, "REF DIR",
     "write env or snapshot REF (NAME or NAME@SNAP) into DIR",
     "  DIR is created if missing and must be empty\n"},
    {"push", ctl_cmd_push, "NAME[@SNAP] REF [--insecure] [--json] [--quiet]",
     "upload an env or snapshot to an OCI registry (only what it lacks)",
     "  REF             HOST[:PORT]/REPO[:TAG|@DIGEST] (tag: latest)\n"
     "  --insecure      plain HTTP (implied for localhost and 127.0.0.1)\n"
     "  --json          print {digest, layers, blobs, uploaded, ...}\n"
     "  -q, --quiet     no progress line (shown on a terminal) and no\n"
     "                  status lines\n"
     "  Credentials: ~/.docker/config.json (see login).\n"},
    {"pull", ctl_cmd_pull, "REF [NAME] [--insecure] [--json] [--quiet]",
     "download an env from an OCI registry (only content the store lacks)",
     "  NAME            default: REF's last path component\n"
     "  --insecure      plain HTTP (implied for localhost and 127.0.0.1)\n"
     "  --json          print {name, digest, layers, fetched, ...}\n"
     "  -q, --quiet     no progress line (shown on a terminal) and no\n"
     "                  status lines\n"},
    {"login", ctl_cmd_login, "REGISTRY -u USER [--insecure]",
     "check and record credentials for a registry (password on stdin)",
     "  -u, --username USER\n"
     "                  the user name; the password is read from stdin\n"
     "  Recorded in ~/.docker/config.json ($DOCKER_CONFIG), 0600.\n"},
    {"gc", ctl_cmd_gc, "[--json] [--quiet]",
     "free blobs and tables nothing references any more",
     "  --json          print what was freed as JSON\n"
     "  -q, --quiet     no progress line (shown on a terminal) and no\n"
     "                  status lines\n"},
    {"compact", ctl_cmd_compact,
     "[--level N] [--threads N] [--background] [--json] [--quiet]",
     "recompress stored content hard and pack small files together",
     "  --level N       zstd level 1..22 (default 15)\n"
     "  --threads N     compression workers (default: one per CPU)\n"
     "  --background    as the automatic compactor: idle CPU and IO\n"
     "                  priority, level 19 and one worker unless given,\n"
     "                  nothing if one already runs, again while new\n"
     "                  content is announced\n"
     "  --json          print what was done as JSON\n"
     "  -q, --quiet     no progress line (shown on a terminal) and no\n"
     "                  status lines\n"
     "  Content and snapshots are unchanged; safe while envs are\n"
     "  mounted; a second run only does content added since.\n"
     "  import, pull, save and kill start the background compactor\n"
     "  by themselves (BLAST_AUTO_COMPACT=0 turns that off).\n"},
    {"check", ctl_cmd_check,
     "[NAME] [--store] [--packages] [--files] [--deep] [--json] [--quiet]",
     "check an env (mount, packages as pip check) or the store",
     "  NAME            an env (default: the env mounted at ./.blast; with\n"
     "                  neither, the store is checked)\n"
     "  For an env: its mount answers, and its requirements, with pip\n"
     "  check's lines: 'X 1.0 requires Y, which is not installed.', 'X 1.0\n"
     "  has requirement Y>=2, but you have Y 1.0.' ('No broken requirements\n"
     "  found.' when there is none). Exit 1 if a problem is found.\n"
     "  Also the env's rules (see rules) and the project's declared\n"
     "  requirements: requirements*.txt and constraints*.txt (with -r/-c\n"
     "  includes) next to .blast, read as they are now.\n"
     "  --packages      only the requirements\n"
     "  --files         only the installed files against their RECORD:\n"
     "                  'missing PATH', 'modified PATH', 'unlisted PATH'\n"
     "  --store         only the store: tables, refcounts, blobs\n"
     "  --deep          also the store, re-hashing every blob\n"
     "  --json          print the result as JSON\n"
     "  -q, --quiet     no progress line (shown on a terminal) and no\n"
     "                  status lines\n"},
    {"deps", ctl_cmd_deps, "[NAME] [--tree | --reverse PKG] [--json]",
     "show an env's dependency graph from its package state",
     "  NAME            default: the env mounted at ./.blast\n"
     "  Each distribution 'name version', then its requirements that\n"
     "  apply to the env with what satisfies them: '(1.2)', '(missing)'\n"
     "  or '(1.2, excluded)'.\n"
     "  --tree          a tree from the distributions nothing requires\n"
     "  --reverse PKG   the distributions requiring PKG\n"
     "  --json          print {\"env\", \"distributions\": [{name, "
     "version,\n"
     "                  path, requires: [{requirement, name, installed,\n"
     "                  ok}], extras, required}]}\n"},
    {"watch", ctl_cmd_watch, "[NAME] [--json]",
     "stream a mounted env's package events as they happen",
     "  NAME            default: the env mounted at ./.blast\n"
     "  One line per event: 'installed NAME VERSION', 'removed NAME\n"
     "  VERSION', 'upgraded NAME OLD -> NEW' (or downgraded), 'conflict:\n"
     "  LINE' and 'resolved: LINE' with pip check's LINE, 'declared: LINE'\n"
     "  and 'declared-resolved: LINE' as the project's requirements*.txt\n"
     "  files or the packages change. Runs until the env is unmounted.\n"
     "  --json          one JSON object per line: {event, name, from, to}\n"
     "                  or {event, line}\n"},
    {"rules", ctl_cmd_rules, "[NAME] [set PKG SPEC | unset PKG] [--json]",
     "list or change an env's version rules, which check applies",
     "  NAME            default: the env mounted at ./.blast\n"
     "  set PKG SPEC    a rule: PKG's installed version must match SPEC\n"
     "                  (a PEP 440 specifier set, e.g. '<2' or '~=1.4')\n"
     "  unset PKG       remove PKG's rule\n"
     "  Without an action, lists 'NAME SPEC' lines. check reports 'rules:\n"
     "  NAME VERSION is excluded by the rule NAME SPEC'.\n"
     "  --json          print {\"env\", \"rules\": [{name, spec}]}\n"},
    {"clean", ctl_cmd_clean, "[NAME]",
     "rebuild an env's package state from a full rescan",
     "  NAME            default: the env mounted at ./.blast\n"
     "  blastfs keeps the state current as files change; clean rescans\n"
     "  site-packages and asks the env's python for its marker values.\n"},
    {"help", cmd_help, "[COMMAND]", "show blastctl's or COMMAND's usage", NULL},
};

#define NCMDS (sizeof(ctl_cmds) / sizeof(ctl_cmds[0]))

static const struct ctl_cmd *cmd_find(const char *name)
{
	size_t i;

	for (i = 0; i < NCMDS; i++)
		if (!strcmp(ctl_cmds[i].name, name))
			return &ctl_cmds[i];
	return NULL;
}

static void usage_global(FILE *f, bool full)
{
	size_t i;
	int w = 8;

	for (i = 0; i < NCMDS; i++)
		if ((int)strlen(ctl_cmds[i].name) > w)
			w = (int)strlen(ctl_cmds[i].name);
	fputs("usage: blastctl [--home DIR] [--json] [--quiet] COMMAND "
	      "[ARGS...]\n",
	      f);
	if (!full) {
		fputs("try 'blastctl help' for the list of commands\n", f);
		return;
	}
	fputs("\ncommands:\n", f);
	for (i = 0; i < NCMDS; i++)
		fprintf(f, "  %-*s  %s\n", w, ctl_cmds[i].name,
			ctl_cmds[i].summary);
	fputs("\noptions:\n"
	      "  --home DIR      the store's directory (default: $BLAST_HOME,\n"
	      "                  else ${XDG_DATA_HOME:-$HOME/.local/share}/"
	      "blast)\n"
	      "  --json          JSON on stdout, for commands that offer it\n"
	      "  -q, --quiet     no progress line and no status lines, for\n"
	      "                  commands that offer it\n"
	      "  -h, --help      this help; 'blastctl COMMAND --help' for "
	      "one command\n"
	      "  --version       print the version\n",
	      f);
}

void ctl_usage_print(const struct ctl_cmd *cmd, FILE *f, bool full)
{
	if (!cmd) {
		usage_global(f, full);
		return;
	}
	fprintf(f, "usage: blastctl %s%s%s\n", cmd->name, *cmd->args ? " " : "",
		cmd->args);
	if (!full)
		return;
	fprintf(f, "\n%s\n", cmd->summary);
	if (cmd->help)
		fprintf(f, "\n%s", cmd->help);
}

/* ---- option parsing ---------------------------------------------- */

static bool lists(const struct option *longopts, int val)
{
	for (; longopts->name; longopts++)
		if (longopts->val == val)
			return true;
	return false;
}

/* Explain a getopt error ('?' unknown, ':' missing value). opterr is 0,
 * so getopt itself printed nothing. */
static int opt_error(struct ctl *c, char **argv, int o)
{
	const char *arg = argv[optind - 1];
	bool islong = !strncmp(arg, "--", 2);

	if (o == ':') {
		if (!islong)
			return ctl_usage_error(c, "option '-%c' needs a value",
					       optopt);
		return ctl_usage_error(c, "option '%s' needs a value", arg);
	}
	if (!islong && optopt > 0 && optopt < 0x100)
		return ctl_usage_error(c, "unknown option '-%c'", optopt);
	if (islong && optopt && strchr(arg, '='))
		return ctl_usage_error(c, "option '%.*s' takes no value",
				       (int)(strchr(arg, '=') - arg), arg);
	return ctl_usage_error(c, "unknown option '%s'", arg);
}

int ctl_getopt(struct ctl *c, int argc, char **argv, const char *shortopts,
	       const struct option *longopts)
{
	char spec[64];
	const char *mode = "";
	int o;

	if (optind == 0 && c->json && !lists(longopts, CTL_OPT_JSON)) {
		ctl_usage_error(c, "--json is not supported by %s",
				c->cmd->name);
		return CTL_OPT_BAD;
	}
	if (optind == 0 && c->quiet && !lists(longopts, CTL_OPT_QUIET)) {
		ctl_usage_error(c, "--quiet is not supported by %s",
				c->cmd->name);
		return CTL_OPT_BAD;
	}
	if (*shortopts == '+') {
		mode = "+";
		shortopts++;
	}
	snprintf(spec, sizeof(spec), "%s:h%s%s", mode,
		 lists(longopts, CTL_OPT_QUIET) ? "q" : "", shortopts);
	opterr = 0;
	for (;;) {
		o = getopt_long(argc, argv, spec, longopts, NULL);
		switch (o) {
		case CTL_OPT_JSON:
			c->json = true;
			continue;
		case 'q':
			if (!lists(longopts, CTL_OPT_QUIET))
				return o; /* the command's own -q */
					  /* fall through */
		case CTL_OPT_QUIET:
			c->quiet = true;
			continue;
		case 'h':
		case CTL_OPT_HELP:
			ctl_usage_print(c->cmd, stdout, true);
			return CTL_OPT_HELP;
		case '?':
		case ':':
			opt_error(c, argv, o);
			return CTL_OPT_BAD;
		default:
			return o;
		}
	}
}

int ctl_opt_exit(int opt)
{
	return opt == CTL_OPT_HELP ? CTL_EXIT_OK : CTL_EXIT_USAGE;
}

int ctl_parse_uint(struct ctl *c, const char *what, const char *s,
		   unsigned long min, unsigned long max, unsigned long *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (*s < '0' || *s > '9' || *end || errno || v < min || v > max) {
		ctl_usage_error(c,
				"invalid value '%s' for %s: expected a number "
				"from %lu to %lu",
				s, what, min, max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

/* ---- the store --------------------------------------------------- */

static void store_log(void *arg, const char *msg)
{
	ctl_err(arg, "%s", msg);
}

/* --home DIR or the default, made absolute (daemons started later must
 * not depend on our cwd). */
static int home_resolve(struct ctl *c, char *buf, size_t len)
{
	char cwd[PATH_MAX];
	int n;

	if (!c->home_arg)
		return store_home_default(buf, len);
	if (c->home_arg[0] == '/') {
		n = snprintf(buf, len, "%s", c->home_arg);
	} else {
		if (!getcwd(cwd, sizeof(cwd)))
			return -errno;
		n = snprintf(buf, len, "%s/%s", cwd, c->home_arg);
	}
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int ctl_store(struct ctl *c, struct store **out)
{
	char home[PATH_MAX], why[512];
	struct store *st;
	int r;

	if (c->st) {
		*out = c->st;
		return 0;
	}
	r = home_resolve(c, home, sizeof(home));
	if (r == -ENOENT && !c->home_arg) {
		ctl_err(c, "cannot find the store: set BLAST_HOME or HOME, "
			   "or pass --home DIR");
		return r;
	}
	if (r && !c->home_arg) {
		ctl_err(c, "cannot find the store: %s", ctl_strerror(r));
		return r;
	}
	if (r) {
		ctl_err(c, "cannot open store '%s': %s", c->home_arg,
			ctl_strerror(r));
		return r;
	}
	r = store_open_why(home, 0, why, sizeof(why), &st);
	if (r) {
		ctl_err(c, "cannot open store '%s': %s", home,
			why[0]	       ? why
			: r == -EPROTO ? "unsupported store format"
				       : ctl_strerror(r));
		return r;
	}
	store_set_log(st, store_log, c);
	c->st = st;
	*out = st;
	return 0;
}

/* ---- help and main ----------------------------------------------- */

static int cmd_help(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {CTL_OPTION_HELP, {0}};
	const struct ctl_cmd *cmd = NULL;
	int o;

	o = ctl_getopt(c, argc, argv, "", opts);
	if (o != -1)
		return ctl_opt_exit(o);
	if (argc - optind > 1)
		return ctl_usage_error(c, "too many arguments");
	if (optind < argc) {
		cmd = cmd_find(argv[optind]);
		if (!cmd)
			return ctl_usage_error(c, "unknown command '%s'",
					       argv[optind]);
	}
	ctl_usage_print(cmd, stdout, true);
	return CTL_EXIT_OK;
}

static bool env_on(const char *name)
{
	const char *v = getenv(name);

	return v && *v && strcmp(v, "0") != 0;
}

/* Colour on stderr: a terminal, unless NO_COLOR (any value), CLICOLOR=0
 * or TERM=dumb; CLICOLOR_FORCE forces it even off a terminal (still
 * never with NO_COLOR). stdout carries data and is never coloured. */
static void color_init(struct ctl *c)
{
	const char *v = getenv("NO_COLOR"), *term = getenv("TERM");
	const char *cc = getenv("CLICOLOR");

	if (v && *v)
		c->color_err = false;
	else if (env_on("CLICOLOR_FORCE"))
		c->color_err = true;
	else
		c->color_err = isatty(STDERR_FILENO) &&
			       !(cc && !strcmp(cc, "0")) &&
			       !(term && !strcmp(term, "dumb"));
}

enum { OPT_HOME = 0x2000, OPT_VERSION };

/* Global options up to the command name. Returns -1 to go on with the
 * command at argv[*cmd_at], else the exit status. */
static int parse_global(struct ctl *c, int argc, char **argv, int *cmd_at)
{
	static const struct option opts[] = {
	    {"home", required_argument, NULL, OPT_HOME},
	    {"version", no_argument, NULL, OPT_VERSION},
	    CTL_OPTION_HELP,
	    CTL_OPTION_JSON,
	    CTL_OPTION_QUIET,
	    {0},
	};
	int o;

	optind = 0;
	while ((o = ctl_getopt(c, argc, argv, "+", opts)) != -1) {
		switch (o) {
		case OPT_HOME:
			if (!*optarg)
				return ctl_usage_error(c, "--home needs a "
							  "directory");
			c->home_arg = optarg;
			break;
		case OPT_VERSION:
			printf("blastctl %s\n", BLAST_VERSION);
			return CTL_EXIT_OK;
		default:
			return ctl_opt_exit(o);
		}
	}
	if (optind >= argc)
		return ctl_usage_error(c, "no command given");
	*cmd_at = optind;
	return -1;
}

/* Like coreutils' close_stdout: data lost on a full disk is a failure. */
static int stdout_close(struct ctl *c, int rc)
{
	int err;

	if (fflush(stdout) != 0)
		err = errno;
	else if (ferror(stdout))
		err = EIO;
	else
		return rc;
	ctl_err(c, "cannot write to stdout: %s", ctl_strerror(err));
	return CTL_EXIT_FAIL;
}

int main(int argc, char **argv)
{
	struct ctl c = {0};
	int rc, at = 0;

	color_init(&c);
	rc = parse_global(&c, argc, argv, &at);
	if (rc >= 0)
		return stdout_close(&c, rc);
	c.cmd = cmd_find(argv[at]);
	if (!c.cmd)
		return ctl_usage_error(&c, "unknown command '%s'", argv[at]);
	optind = 0;
	rc = c.cmd->fn(&c, argc - at, argv + at);
	store_close(c.st);
	return stdout_close(&c, rc);
}
