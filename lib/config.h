/*
 * config: hv.conf(5), git-config-like.
 *
 *	# comment
 *	[section]
 *	key = value
 *	[team "support"]
 *	members = a@example.com b@example.com
 *
 * Every section and key is known: an unknown one, a bad value, a repeated
 * key or a line that is none of the above is HV_ECONFIG with "FILE:LINE:"
 * and what is wrong.  Values may be double-quoted ("a # b", \" and \\).
 * Paths expand a leading ~ and $VAR / ${VAR}.  The result owns all its
 * strings; hv_config_free() releases them.
 */
#ifndef HV_CONFIG_H
#define HV_CONFIG_H

#include <stddef.h>

#include "err.h"

#define HV_CONFIG_MAX (1024 * 1024)

/* The longest label name Gmail takes, in characters (its web interface
 * refuses more; the API documents no limit). */
#define HV_CONFIG_LABEL_MAX 225

struct hv_team {
	char *name;		/* from [team "name"] */
	char *source;		/* the shared mailbox */
	char **members;		/* NULL-terminated; may be empty with group */
	size_t nmembers;
	char *group;		/* a Google group naming the members, or NULL */
	char *label;		/* default: the team's name */
	char *query;		/* extra Gmail search, or NULL */
	int import;		/* 1: messages.import, 0: messages.insert */
	int sync_labels;	/* hv-sync labels runs for the team */
	/* hv-fetch --follow: Gmail publishes to topic, hv pulls subscription
	 * (both NULL: the team is not followed); poll is the safety poll,
	 * seconds (0: [google] poll). */
	char *topic, *subscription;
	long poll;
	char **states;		/* NULL-terminated; default open pending closed */
	size_t nstates;
	int line;		/* where the section starts, for messages */
};

/*
 * Calls in flight per mailbox.  Google answers 429 "Too many concurrent
 * requests for user" past an undocumented limit, seen near 10; holding
 * the legacy import rate (10 a second) at Google's slowest usual answer
 * (700 ms) takes 7 in flight (Little's law).
 */
#define HV_CONFIG_INFLIGHT 8

/*
 * Messages larger than this go by resumable upload: Google's upload guide
 * keeps simple uploads to "5 MB or less", and a resumable one resumes
 * after a broken link from the byte Google acknowledged instead of
 * sending the whole message again.
 */
#define HV_CONFIG_RESUMABLE_ABOVE (5L * 1024 * 1024)

/* Where a value set in the file came from (see hv_config_each). */
struct hv_config_origin {
	int key;		/* the key, in config.c's table */
	long team;		/* the index in teams of a team key, else -1 */
	int line;		/* of file */
};

struct hv_config {
	char *file;		/* the file read, or NULL for defaults only */
	struct hv_config_origin *origins;	/* owned: every key the file set */
	size_t norigins;
	struct {
		char *state, *spool, *audit;
	} paths;
	struct {
		char *master;	/* FILE | keyring:NAME | command:CMD */
	} keys;
	struct {
		char *api, *oauth, *accounts, *directory, *ca_file, *client, *quota;
		long inflight;	/* calls in flight per mailbox */
		long resumable_above;	/* bytes; -1: never resumable ("off") */
		char *pubsub;	/* Cloud Pub/Sub's endpoint */
		long poll;	/* hv-fetch --follow's safety poll, seconds */
	} google;
	struct {
		long ttl, epoch;	/* seconds */
		int allow_disk;
		char *keys;	/* where epoch keys live: "keyring" or "files" */
	} spool;
	struct hv_team *teams;
	size_t nteams;
	struct {
		char **to;	/* NULL-terminated */
		size_t nto;
		char *endpoint, *region, *recipient;
		char *credentials;	/* s3: access_key and secret_key lines, 0600 */
		char *ca_file;		/* s3: extra CA bundle (tests), or NULL */
		long every, keep;
	} backup;
	struct {
		char *mode;	/* auto (the default), required, off: sandbox.h */
	} sandbox;
	struct {
		long checkpoint_events;		/* a checkpoint after this many events */
		long checkpoint_interval;	/* or when this many seconds have passed */
	} audit;
};

/*
 * Load the configuration.  path is the -c argument or NULL; with NULL,
 * $HV_CONFIG, then $XDG_CONFIG_HOME/hv/hv.conf (~/.config), then
 * /etc/hv/hv.conf, and built-in defaults when none of those exists.  A
 * path given explicitly must exist (HV_ENOINPUT).
 */
int hv_config_load(struct hv_config *c, const char *path, struct hv_err *e);

/* Parse text (len bytes) as the file named name; defaults first. */
int hv_config_parse(struct hv_config *c, const char *name, const char *text,
    size_t len, struct hv_err *e);

/* Cloud Pub/Sub resource names, for [team] topic and subscription. */
enum hv_config_pubsub {
	HV_CONFIG_TOPIC,		/* projects/P/topics/T */
	HV_CONFIG_SUBSCRIPTION,		/* projects/P/subscriptions/S */
};

/*
 * 0 when name has the shape Google gives the resource: "projects/",
 * a project id (6 to 30 lowercase letters, digits and hyphens, a letter
 * first; a domain-scoped "example.com:id" too), "/topics/" or
 * "/subscriptions/", and a name of 3 to 255 characters from
 * [A-Za-z0-9-_.~+%], a letter first, not starting with "goog".  Else
 * HV_ECONFIG with *why set to a static phrase.
 */
int hv_config_pubsub_name(const char *name, enum hv_config_pubsub kind, const char **why);

/* The team named name, or NULL. */
const struct hv_team *hv_config_team(const struct hv_config *c, const char *name);

/* Parse "90", "90s", "10m", "4h", "7d" into seconds: 0 or HV_EDATA. */
int hv_parse_duration(const char *s, long *out);

/* Parse "6291456", "512K", "5M", "1G" (binary multiples, either case)
 * into bytes: 0 or HV_EDATA (for a sign, another suffix or overflow). */
int hv_parse_size(const char *s, long *out);

/* A value in force, for hv-doctor config. */
struct hv_config_item {
	const char *section;	/* "paths", "keys", ..., "team" */
	const char *team;	/* the team of a team key, else NULL */
	const char *key;
	const char *value;	/* as in force, as text; borrowed for the call */
	int line;		/* the line of c->file that set it; 0: a default */
};

/*
 * Call fn for every key that has a value in force, in the order of
 * hv.conf(5) (team keys once per team), defaults included, unset
 * optional keys left out.  Values are shown as hv uses them: paths
 * expanded, durations in their largest whole unit.  No key holds a
 * secret ([keys] master names where the key is, not the key).  Stops at
 * fn's first non-zero return, which it returns.
 */
int hv_config_each(const struct hv_config *c,
    int (*fn)(const struct hv_config_item *it, void *arg), void *arg);

void hv_config_free(struct hv_config *c);

#endif
