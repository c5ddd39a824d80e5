/* SPDX-License-Identifier: MIT */
/*
 * cmd-run.c - `blastctl run [NAME] [limits] -- CMD ARGS`: CMD with the
 * mounted env activated (PATH, VIRTUAL_ENV), confined by the env's
 * policy (res.*, net.mode) or the options that override it (sandbox.h).
 * blastctl stays as the parent: it forwards the signals a shell would
 * (SIGTSTP stops it too), removes the cgroup when CMD exits and returns
 * CMD's status (128+N for signal N). CMD dies with blastctl (SIGKILL,
 * PR_SET_PDEATHSIG); the cgroup of a killed blastctl is removed by the
 * next run. CMD always has a PID namespace of its own, where a small
 * init (pid 1) forwards signals and reaps.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "confine.h"
#include "ctl.h"
#include "netsbx.h"
#include "policy.h"
#include "runreg.h"
#include "sandbox.h"
#include "snap.h"
#include "store.h"
#include "usock.h"

#define RUN_CGROUP_PREFIX "blast-run-" /* then ENV-PID */

struct run_args {
	const char *name;
	struct sandbox_limits lim; /* from options; 0/-1: from the policy */
	bool has_net;
	char **cmd;
};

enum {
	OPT_NET = 0x100,
	OPT_MEMORY,
	OPT_CPU,
	OPT_PIDS,
	OPT_IO_READ,
	OPT_IO_WRITE,
	OPT_UNSHARE,
	OPT_CPU_WEIGHT,
	OPT_MEMORY_SOFT,
	OPT_IO_WEIGHT
};

static int size_opt(struct ctl *c, const char *what, const char *s,
		    uint64_t *out)
{
	char err[POLICY_ERR_LEN];
	const char *vals[] = {s};
	char *v = NULL;
	int k = policy_key_find(what);

	if (policy_value_parse(k, vals, 1, &v, err, sizeof(err)))
		return ctl_usage_error(c, "%s", err);
	*out = strtoull(v, NULL, 10);
	free(v);
	return 0;
}

static int unshare_opt(struct ctl *c, const char *s, unsigned *out)
{
	char buf[128], *tok, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", s);
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "pid"))
			*out |= SANDBOX_NS_PID;
		else if (!strcmp(tok, "ipc"))
			*out |= SANDBOX_NS_IPC;
		else if (!strcmp(tok, "mount"))
			*out |= SANDBOX_NS_MOUNT;
		else
			return ctl_usage_error(c,
					       "unknown namespace '%s' for "
					       "--unshare: expected pid, ipc "
					       "or mount",
					       tok);
	}
	return 0;
}

static int run_opt(struct ctl *c, struct run_args *a, int o)
{
	char err[POLICY_ERR_LEN], *v = NULL;
	const char *vals[] = {optarg};
	unsigned long n;

	switch (o) {
	case OPT_NET:
		a->lim.net = policy_net_parse(optarg);
		a->has_net = true;
		if (a->lim.net < 0)
			return ctl_usage_error(
			    c,
			    "invalid value '%s' for --net: "
			    "expected none, loopback, filtered or host",
			    optarg);
		return 0;
	case OPT_MEMORY:
		return size_opt(c, "res.memory", optarg, &a->lim.memory);
	case OPT_IO_READ:
		return size_opt(c, "res.io-read", optarg, &a->lim.io_read);
	case OPT_IO_WRITE:
		return size_opt(c, "res.io-write", optarg, &a->lim.io_write);
	case OPT_CPU:
		if (policy_value_parse(POLICY_RES_CPU, vals, 1, &v, err,
				       sizeof(err)))
			return ctl_usage_error(c, "%s", err);
		a->lim.cpu = strtod(v, NULL);
		free(v);
		return 0;
	case OPT_PIDS:
		if (ctl_parse_uint(c, "--pids", optarg, 1, 1ul << 22, &n))
			return CTL_EXIT_USAGE;
		a->lim.pids = n;
		return 0;
	case OPT_UNSHARE:
		return unshare_opt(c, optarg, &a->lim.unshare);
	case OPT_MEMORY_SOFT:
		return size_opt(c, "res.memory-soft", optarg,
				&a->lim.memory_soft);
	case OPT_CPU_WEIGHT:
	case OPT_IO_WEIGHT:
		if (ctl_parse_uint(
			c, o == OPT_CPU_WEIGHT ? "--cpu-weight" : "--io-weight",
			optarg, 1, 10000, &n))
			return CTL_EXIT_USAGE;
		*(o == OPT_CPU_WEIGHT ? &a->lim.cpu_weight
				      : &a->lim.io_weight) = (unsigned)n;
		return 0;
	default:
		return ctl_opt_exit(o);
	}
}

static int run_parse(struct ctl *c, int argc, char **argv, struct run_args *a)
{
	static const struct option opts[] = {
	    {"net", required_argument, NULL, OPT_NET},
	    {"memory", required_argument, NULL, OPT_MEMORY},
	    {"cpu", required_argument, NULL, OPT_CPU},
	    {"pids", required_argument, NULL, OPT_PIDS},
	    {"io-read", required_argument, NULL, OPT_IO_READ},
	    {"io-write", required_argument, NULL, OPT_IO_WRITE},
	    {"unshare", required_argument, NULL, OPT_UNSHARE},
	    {"cpu-weight", required_argument, NULL, OPT_CPU_WEIGHT},
	    {"memory-soft", required_argument, NULL, OPT_MEMORY_SOFT},
	    {"io-weight", required_argument, NULL, OPT_IO_WEIGHT},
	    CTL_OPTION_HELP,
	    {0},
	};
	int o, dd, r;

	a->lim.net = -1;
	for (dd = 1; dd < argc && strcmp(argv[dd], "--"); dd++)
		;
	while ((o = ctl_getopt(c, dd, argv, "", opts)) != -1) {
		if (o == CTL_OPT_HELP)
			return CTL_EXIT_OK;
		r = run_opt(c, a, o);
		if (r)
			return r;
	}
	if (dd == argc || dd + 1 == argc)
		return ctl_usage_error(c, "expected -- CMD [ARGS...]");
	if (dd - optind > 1)
		return ctl_usage_error(c, "too many arguments before --");
	if (dd - optind == 1) {
		a->name = argv[optind];
		if (store_name_check(a->name))
			return snap_name_usage(c, "env", a->name);
	}
	a->cmd = argv + dd + 1;
	return CTL_PARSED;
}

/* Options win over the env's policy. */
static void limits_merge(struct sandbox_limits *l, const struct policy *p,
			 bool has_net)
{
	if (!l->memory)
		l->memory = p->memory;
	if (!(l->cpu > 0))
		l->cpu = p->cpu;
	if (!l->pids)
		l->pids = p->pids;
	if (!l->io_read)
		l->io_read = p->io_read;
	if (!l->io_write)
		l->io_write = p->io_write;
	if (!has_net)
		l->net = p->net;
	if (!l->memory_soft)
		l->memory_soft = p->memory_soft;
	if (!l->cpu_weight)
		l->cpu_weight = p->cpu_weight;
	if (!l->io_weight)
		l->io_weight = p->io_weight;
}

static int policy_read(struct snap_target *tg, struct policy **out)
{
	struct store_txn *t;
	struct store_env e;
	int r = store_txn_begin(tg->st, false, &t);

	if (r < 0)
		return r;
	r = store_env_get(t, tg->name, &e);
	if (!r)
		r = policy_load(t, e.root, out);
	store_txn_abort(t);
	return r;
}

/* ---- signals ------------------------------------------------------- */

/* What a shell passes on to its foreground job. */
static const int fwd_sigs[] = {SIGHUP,	SIGINT,	 SIGQUIT,  SIGTERM, SIGUSR1,
			       SIGUSR2, SIGALRM, SIGWINCH, SIGCONT, SIGTSTP};

static volatile pid_t fwd_pid;

/* Forward what a process sent us; a terminal's signal (SI_KERNEL)
 * reached the whole foreground process group already. A stop request
 * stops us too, after the child, as it would without a handler. */
static void forward(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;

	(void)uc;
	if (fwd_pid > 0 && si->si_code <= 0)
		kill(fwd_pid, sig);
	if (sig == SIGTSTP)
		kill(getpid(), SIGSTOP);
	errno = saved;
}

/* Block (how SIG_BLOCK) or unblock (SIG_UNBLOCK) the forwarded signals:
 * blocked across fork, so none is lost or acted on by default there. */
static void block_signals(int how)
{
	sigset_t set;

	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(fwd_sigs) / sizeof(*fwd_sigs); i++)
		sigaddset(&set, fwd_sigs[i]);
	sigprocmask(how, &set, NULL);
}

static void forward_signals(pid_t to)
{
	struct sigaction sa = {0};

	fwd_pid = to;
	sa.sa_sigaction = forward;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(fwd_sigs) / sizeof(*fwd_sigs); i++)
		sigaction(fwd_sigs[i], &sa, NULL);
	block_signals(SIG_UNBLOCK);
}

static void default_signals(void)
{
	for (size_t i = 0; i < sizeof(fwd_sigs) / sizeof(*fwd_sigs); i++)
		signal(fwd_sigs[i], SIG_DFL);
	block_signals(SIG_UNBLOCK);
}

/* In a forked child: die (SIGKILL) with the parent, also if it is gone
 * already. life is a pipe whose write end only the parent keeps: it
 * reads as closed (POLLHUP) once the parent has died. */
static void die_with_parent(int life[2])
{
	struct pollfd pf = {life[0], POLLIN, 0};

	close(life[1]);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || poll(&pf, 1, 0) != 0)
		_exit(126);
	close(life[0]);
}

/* fork with the forwarded signals blocked (the child unblocks them once
 * it has its handlers, or their defaults) and a life pipe for
 * die_with_parent; the parent keeps life[1] open until it exits. */
static pid_t fork_child(int life[2])
{
	pid_t pid;

	if (pipe2(life, O_CLOEXEC) < 0)
		return -1;
	block_signals(SIG_BLOCK);
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(life[0]);
		close(life[1]);
		block_signals(SIG_UNBLOCK);
	} else if (pid > 0) {
		close(life[0]);
	}
	return pid;
}

static int status_code(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return 1;
}

static int wait_for(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return 1;
	return status_code(st);
}

/* ---- the child ----------------------------------------------------- */

static void child_fail(int efd, int code, const char *msg)
{
	if (write(efd, msg, strlen(msg)) < 0)
		code = 126;
	_exit(code);
}

/* hp: to the parent, which hands the filter's listener to blastctl */
static void child_exec(int efd, int hp, const struct sandbox *sb,
		       const struct confine *cf, const char *mnt, char **cmd)
{
	char path[PATH_MAX * 2], msg[SANDBOX_MSG_LEN];
	const char *old = getenv("PATH");
	int listener = -1;

	snprintf(path, sizeof(path), "%s/bin%s%s", mnt, old ? ":" : "",
		 old ? old : "");
	setenv("PATH", path, 1);
	setenv("VIRTUAL_ENV", mnt, 1);
	unsetenv("PYTHONHOME");
	default_signals();
	/* rlimits last: an address-space limit binds CMD, not blastctl's
	 * (sanitizer's) setup */
	if (confine_child_lockdown(cf, &listener, msg, sizeof(msg)) ||
	    sandbox_child_limits(sb, msg, sizeof(msg)))
		child_fail(efd, 126, msg);
	/* connect and the sends wait for the supervisor from here on */
	if (usock_child_send(hp, listener) < 0)
		child_fail(efd, 126, "cannot start the socket supervisor");
	close(listener);
	close(hp);
	execvp(cmd[0], cmd);
	snprintf(msg, sizeof(msg), "cannot run '%s': %s", cmd[0],
		 strerror(errno));
	child_fail(efd, errno == ENOENT ? 127 : 126, msg);
}

/* pid 1 of a new PID namespace: run CMD as pid 2, forward signals to
 * it, reap orphans, exit with its status. */
static void ns_init(int efd, int chan, const struct sandbox *sb,
		    const struct confine *cf, const char *mnt, char **cmd)
{
	pid_t pid, w;
	int st, code = 1, hp[2];

	/* read-only: uid 0 without capabilities still owns /proc/sys */
	if (mount("proc", "/proc", "proc",
		  MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL) < 0)
		child_fail(efd, 126, "cannot mount /proc in the new namespace");
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, hp) < 0)
		child_fail(efd, 126, "cannot make a socket pair");
	pid = fork();
	if (pid < 0)
		child_fail(efd, 126, "fork failed");
	if (pid == 0) {
		close(hp[0]);
		child_exec(efd, hp[1], sb, cf, mnt, cmd);
	}
	close(hp[1]);
	close(efd);
	/* a failure leaves CMD reading EOF: it fails, saying so */
	usock_child_relay(hp[0], pid, chan);
	close(hp[0]);
	close(chan);
	forward_signals(pid);
	for (;;) {
		w = waitpid(-1, &st, 0);
		if (w == pid)
			code = status_code(st);
		if (w < 0 && errno == ECHILD)
			break;
	}
	_exit(code);
}

static void child_main(int efd, int chan, const struct sandbox *sb,
		       const struct netsbx *net, const struct confine *cf,
		       const char *mnt, char **cmd)
{
	char msg[SANDBOX_MSG_LEN];
	int life[2];
	pid_t pid;

	if (net && netsbx_child_enter(net, msg, sizeof(msg)))
		child_fail(efd, 126, msg);
	if (sandbox_enter(sb, 0, msg, sizeof(msg)) ||
	    confine_child_user(cf, msg, sizeof(msg)) ||
	    sandbox_child_namespaces(&sb->lim, msg, sizeof(msg)) ||
	    confine_child_fs(cf, msg, sizeof(msg)))
		child_fail(efd, 126, msg);
	/* always (ctl_cmd_run): CMD's parent there passes the listener on */
	if (unshare(CLONE_NEWPID) < 0) {
		snprintf(msg, sizeof(msg),
			 "cannot create a PID namespace: %s (needs root)",
			 strerror(errno));
		child_fail(efd, 126, msg);
	}
	pid = fork_child(life);
	if (pid < 0)
		child_fail(efd, 126, "fork failed");
	if (pid == 0) {
		/* its death ends the namespace: every process in it */
		die_with_parent(life);
		ns_init(efd, chan, sb, cf, mnt, cmd);
	}
	close(efd);
	close(chan);
	forward_signals(pid);
	_exit(wait_for(pid));
}

/* ---- the parent ---------------------------------------------------- */

static void describe(struct ctl *c, const char *env, const struct sandbox *sb,
		     const struct confine *cf)
{
	const struct sandbox_limits *l = &sb->lim;
	char line[PATH_MAX + 1024] = "", b[CTL_BYTES_LEN];
	size_t n;

#define ADD(...)                                                               \
	do {                                                                   \
		n = strlen(line);                                              \
		snprintf(line + n, sizeof(line) - n, __VA_ARGS__);             \
	} while (0)
	if (l->memory)
		ADD(", memory %s", ctl_fmt_bytes(b, sizeof(b), l->memory));
	if (l->cpu > 0)
		ADD(", cpu %g", l->cpu);
	if (l->pids)
		ADD(", pids %llu", (unsigned long long)l->pids);
	if (l->memory_soft)
		ADD(", memory-soft %s",
		    ctl_fmt_bytes(b, sizeof(b), l->memory_soft));
	if (l->cpu_weight)
		ADD(", cpu-weight %u", l->cpu_weight);
	if (l->io_weight)
		ADD(", io-weight %u", l->io_weight);
	if (l->io_read)
		ADD(", io-read %s/s", ctl_fmt_bytes(b, sizeof(b), l->io_read));
	if (l->io_write)
		ADD(", io-write %s/s",
		    ctl_fmt_bytes(b, sizeof(b), l->io_write));
	if (sb->mech != SANDBOX_NONE)
		ADD(" via %s", sandbox_mech_name(sb->mech));
	if (sb->ndirs)
		ADD(" (%s%s)", sb->dirs[0], sb->ndirs > 1 ? " ..." : "");
	ADD(", network %s", l->net < 0 ? "host" : policy_net_name(l->net));
	if (l->unshare)
		ADD(", new%s%s%s namespaces",
		    l->unshare & SANDBOX_NS_PID ? " pid" : "",
		    l->unshare & SANDBOX_NS_IPC ? " ipc" : "",
		    l->unshare & SANDBOX_NS_MOUNT ? " mount" : "");
	ADD(", host read-only, no capabilities, seccomp");
	if (confine_landlock_abi() >= 6)
		ADD(", abstract sockets scoped");
	ADD(", path sockets supervised");
	if (cf->userns)
		ADD(" (user namespace)");
	else if (cf->drop_ids)
		ADD(", as uid %u", (unsigned)cf->uid);
#undef ADD
	ctl_status(c, "run in env '%s': %s", env,
		   line[0] == ',' ? line + 2 : line);
}

/* A limit's kill or refusal is said, with the limit: not a bare 137. */
static void say_kills(struct ctl *c, const struct sandbox *sb, int code)
{
	char b[CTL_BYTES_LEN];
	uint64_t refused;
	bool oom;

	sandbox_events(sb, &oom, &refused);
	ctl_fmt_bytes(b, sizeof(b), sb->lim.memory);
	if (oom && code == 128 + SIGKILL)
		ctl_err(c, "run: killed: out of memory (limit %s)", b);
	else if (oom)
		ctl_warn(c,
			 "run: a process was killed: out of memory (limit "
			 "%s)",
			 b);
	if (refused && code)
		ctl_err(c, "run: the pids limit (%llu) refused %llu fork%s",
			(unsigned long long)sb->lim.pids,
			(unsigned long long)refused, refused == 1 ? "" : "s");
}

/* Where the filtered network put the env, or why the net.* rules do
 * not apply. nc's strings are gone (policy freed): only tested for
 * NULL. */
static void netsbx_describe(struct ctl *c, const struct netsbx *net,
			    const struct netsbx_conf *nc, int mode)
{
	char ip[INET_ADDRSTRLEN];

	if (!net) {
		if (netsbx_conf_denies(nc) || nc->inbound || nc->dns ||
		    nc->bw_up || nc->bw_down)
			ctl_warn(c,
				 "the policy's net.* rules are not applied: "
				 "network %s",
				 mode < 0 ? "host" : policy_net_name(mode));
		return;
	}
	inet_ntop(AF_INET, &net->env_ip, ip, sizeof(ip));
	ctl_status(c, "network filtered: env at %s via %s, %s", ip,
		   net->host_if,
		   net->deny ? "outbound only as the net.allow-* rules say"
			     : "outbound open");
}

/* Fork, wait, clean up. Returns CMD's status. */
static int run_cmd(struct ctl *c, const struct runreg *reg, struct sandbox *sb,
		   const struct netsbx *net, const struct confine *cf,
		   char **cmd)
{
	const char *mnt = reg->mnt;
	char msg[SANDBOX_MSG_LEN + PATH_MAX];
	int p[2], chan[2], life[2], code, r;
	struct usock *us = NULL;
	ssize_t n;
	pid_t pid;

	/* the supervisor shares CMD's abstract-socket scope: this thread's,
	 * inherited by both */
	r = confine_scope_parent();
	if (r < 0) {
		ctl_err(c, "cannot scope abstract sockets (landlock): %s",
			ctl_strerror(-r));
		return CTL_EXIT_FAIL;
	}
	if (pipe2(p, O_CLOEXEC) < 0) {
		ctl_err(c, "cannot run: %s", ctl_strerror(errno));
		return CTL_EXIT_FAIL;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, chan) < 0) {
		ctl_err(c, "cannot run: %s", ctl_strerror(errno));
		close(p[0]);
		close(p[1]);
		return CTL_EXIT_FAIL;
	}
	pid = fork_child(life);
	if (pid < 0) {
		ctl_err(c, "cannot fork: %s", ctl_strerror(errno));
		close(p[0]);
		close(p[1]);
		close(chan[0]);
		close(chan[1]);
		return CTL_EXIT_FAIL;
	}
	if (pid == 0) {
		close(p[0]);
		close(chan[0]);
		die_with_parent(life);
		child_main(p[1], chan[1], sb, net, cf, mnt, cmd);
	}
	close(p[1]);
	close(chan[1]);
	/* on failure chan is closed: CMD fails, saying why */
	r = usock_start(chan[0], cf, &us);
	if (r < 0)
		ctl_err(c, "cannot start the socket supervisor: %s",
			ctl_strerror(-r));
	forward_signals(pid);
	runreg_write(reg, pid, sb, net); /* for `blastctl top` */
	do
		n = read(p[0], msg, sizeof(msg) - 1);
	while (n < 0 && errno == EINTR);
	close(p[0]);
	code = wait_for(pid);
	usock_stop(us);
	runreg_remove(reg);
	close(life[1]);
	if (n > 0) {
		msg[n] = '\0';
		ctl_err(c, "%s", msg);
	}
	default_signals();
	return code;
}

int ctl_cmd_run(struct ctl *c, int argc, char **argv)
{
	char msg[SANDBOX_MSG_LEN], leaf[128];
	struct run_args a = {0};
	struct snap_target tg;
	struct policy *p = NULL;
	struct netsbx *net = NULL;
	struct netsbx_conf nc;
	struct runreg reg;
	struct confine cf;
	struct sandbox sb;
	int rc, r;

	rc = run_parse(c, argc, argv, &a);
	if (rc != CTL_PARSED)
		return rc;
	r = snap_target_open(c, a.name, &tg);
	if (r == 0 && !tg.mounted) {
		ctl_err(c,
			"env '%s' is not mounted: run needs its mount "
			"(blastctl start %s)",
			tg.name, tg.name);
		r = -ENOENT;
	}
	if (r == 0 && (r = policy_read(&tg, &p)) < 0)
		ctl_err(c, "cannot read the policy of env '%s': %s", tg.name,
			ctl_strerror(r));
	snap_target_close(&tg);
	if (r < 0)
		return CTL_EXIT_FAIL;
	/* nothing of the store may cross fork */
	store_close(c->st);
	c->st = NULL;
	limits_merge(&a.lim, p, a.has_net);
	netsbx_conf_from_policy(p, &nc);
	runreg_init(&reg, tg.rundir, tg.name, tg.mnt);
	r = confine_init(&cf, p, tg.mnt, tg.home, msg, sizeof(msg));
	if (r < 0) {
		policy_free(p);
		ctl_err(c, "cannot confine: %s", msg);
		confine_release(&cf);
		return CTL_EXIT_FAIL;
	}
	/* CMD sees only its own processes: a process outside running as
	 * CMD's user without capabilities (as SUDO_UID: that user's; as
	 * root: another run's CMD) would otherwise be CMD's to ptrace-read,
	 * and its /proc/PID/root is the host, writable */
	a.lim.unshare |= SANDBOX_NS_PID;
	/* the cgroups of runs whose blastctl was killed go first */
	sandbox_sweep(RUN_CGROUP_PREFIX, "blastctl");
	snprintf(leaf, sizeof(leaf), RUN_CGROUP_PREFIX "%s-%d", tg.name,
		 (int)getpid());
	r = sandbox_create(&sb, leaf, &a.lim, 0, msg, sizeof(msg));
	if (r < 0) {
		policy_free(p);
		ctl_err(c, "cannot apply the limits: %s", msg);
		confine_release(&cf);
		return CTL_EXIT_FAIL;
	}
	if (a.lim.net == POLICY_NET_FILTERED &&
	    netsbx_open(&nc, &net, msg, sizeof(msg)) < 0) {
		policy_free(p);
		sandbox_destroy(&sb);
		confine_release(&cf);
		ctl_err(c, "cannot set up the filtered network: %s", msg);
		return CTL_EXIT_FAIL;
	}
	/* nc points into p */
	if (net && nc.allow_ip && strchr(nc.allow_ip, ':'))
		ctl_warn(c, "the policy's IPv6 net.allow-ip rules are not "
			    "applied: IPv6 does not reach the env");
	policy_free(p);
	describe(c, tg.name, &sb, &cf);
	netsbx_describe(c, net, &nc, a.lim.net);
	if (sb.mech == SANDBOX_RLIMIT)
		ctl_status(c, "note: no writable cgroup (root is needed here): "
			      "memory limits the address space (RLIMIT_AS), "
			      "pids the user's processes (RLIMIT_NPROC)");
	rc = run_cmd(c, &reg, &sb, net, &cf, a.cmd);
	netsbx_close(net);
	confine_release(&cf);
	say_kills(c, &sb, rc);
	if (sandbox_destroy(&sb) < 0) {
		ctl_err(c, "cannot remove the cgroup of the run");
		if (!rc)
			rc = CTL_EXIT_FAIL;
	}
	return rc;
}
