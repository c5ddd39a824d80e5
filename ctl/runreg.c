/* SPDX-License-Identifier: MIT */
/*
 * runreg.c - the registry of running sandboxes (runreg.h), as small JSON
 * files beside the daemons' .info files.
 */
#include <arpa/inet.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "netsbx.h"
#include "policy.h"
#include "runreg.h"
#include "sandbox.h"

void runreg_init(struct runreg *reg, const char *rundir, const char *env,
		 const char *mnt)
{
	snprintf(reg->path, sizeof(reg->path), "%s/sbx-%d.json", rundir,
		 (int)getpid());
	reg->env = env;
	reg->mnt = mnt;
}

void runreg_write(const struct runreg *reg, pid_t child,
		  const struct sandbox *sb, const struct netsbx *net)
{
	char tmp[PATH_MAX + 8], ip[INET_ADDRSTRLEN];
	json_t *o = json_object(), *cg = json_array();

	for (size_t i = 0; cg && i < sb->ndirs; i++)
		json_array_append_new(cg, json_string(sb->dirs[i]));
	json_object_set_new(o, "env", json_string(reg->env));
	json_object_set_new(o, "mount", json_string(reg->mnt));
	json_object_set_new(o, "pid", json_integer(getpid()));
	json_object_set_new(o, "child", json_integer(child));
	json_object_set_new(o, "cgroups", cg);
	json_object_set_new(o, "mechanism",
			    json_string(sandbox_mech_name(sb->mech)));
	json_object_set_new(o, "memory_limit",
			    json_integer((json_int_t)sb->lim.memory));
	json_object_set_new(o, "net",
			    json_string(sb->lim.net < 0
					    ? "host"
					    : policy_net_name(sb->lim.net)));
	if (net) {
		inet_ntop(AF_INET, &net->env_ip, ip, sizeof(ip));
		json_object_set_new(o, "veth", json_string(net->host_if));
		json_object_set_new(o, "address", json_string(ip));
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", reg->path);
	if (json_dump_file(o, tmp, JSON_COMPACT) == 0 &&
	    rename(tmp, reg->path) < 0)
		unlink(tmp);
	json_decref(o);
}

void runreg_remove(const struct runreg *reg)
{
	unlink(reg->path);
}
