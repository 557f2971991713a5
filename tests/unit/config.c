/* config: the grammar, every kind of value, defaults, and each refusal. */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "syslabel.h"
#include "tap.h"

static const char full[] =
    "# hv.conf\n"
    "[paths]\n"
    "  state = /var/lib/hv/hv.db\n"
    "spool = ${XDG_RUNTIME_DIR}/hv/spool   # on tmpfs\n"
    "audit = ~/audit.log\n"
    "[keys]\n"
    "master = \"command:pass show hv # master\"\n"
    "[google]\n"
    "api = https://127.0.0.1:8443\n"
    "ca_file = /tmp/ca.pem\n"
    "quota = 2026\n"
    "[spool]\n"
    "ttl = 10m\n"
    "epoch = 30s\n"
    "allow_disk = yes\n"
    "[team \"support\"]\n"
    "source = support@example.com\n"
    "members = a@example.com, b@example.com c@example.com\n"
    "label = Support\n"
    "import = no\n"
    "; second team\n"
    "[team \"sales\"]\n"
    "source = sales@example.com\n"
    "group = sales-team@example.com\n"
    "[backup]\n"
    "to = /backups s3://bucket/hv\n"
    "every = 4h\n"
    "keep = 42\n";

#define TEAM "[team \"a\"]\nsource = s@x\nmembers = m@x\n"
#define L10 "abcdefghij"
#define L100 L10 L10 L10 L10 L10 L10 L10 L10 L10 L10
#define L226 L100 L100 L10 L10 "abcdef"

static const struct {
	const char *text, *message;
} bad[] = {
	{ "[paths]\nstate\n", "t:2: expected 'key = value'" },
	{ "[nope]\n", "t:1: unknown section [nope]" },
	{ "[paths]\nstat = x\n", "t:2: unknown key 'stat'" },
	{ "x = 1\n", "t:1: key outside any section" },
	{ "[spool]\nttl = 10 minutes\n", "t:2: bad duration '10 minutes' (say 90s, 10m, 4h or 7d)" },
	{ "[spool]\nttl = 0\n", "t:2: bad duration '0' (say 90s, 10m, 4h or 7d)" },
	{ "[spool]\nallow_disk = maybe\n", "t:2: bad boolean 'maybe' (say yes or no)" },
	{ "[spool]\nttl = 1m\nttl = 2m\n", "t:3: 'ttl' set twice" },
	{ "[team]\n", "t:1: [team] needs a name: [team \"support\"]" },
	{ "[paths \"x\"]\n", "t:1: [paths] takes no name" },
	{ "[team \"a\"]\nsource = s@x\nmembers = m@x\n[team \"a\"]\n", "t:4: team 'a' defined twice" },
	{ "[team \"a\"]\nmembers = m@x\n", "t:1: team 'a' has no source" },
	{ "[team \"a\"]\nsource = s@x\n", "t:1: team 'a' has neither members nor group" },
	{ "[team \"a\"]\nmembers = ,\n", "t:2: empty list for 'members'" },
	{ "[paths\n", "t:1: unterminated section header" },
	{ "[paths] x\n", "t:1: text after the section header" },
	{ "[keys]\nmaster = \"abc\n", "t:2: unterminated quoted value" },
	{ "[keys]\nmaster = \"a\\nb\"\n", "t:2: bad escape in quoted value" },
	{ "[keys]\nmaster = \"a\" b\n", "t:2: text after the quoted value" },
	{ "[keys]\nmaster =\n", "t:2: empty value for 'master'" },
	{ "[paths]\nstate = $HV_SURELY_UNSET_VAR/x\n", "t:2: $HV_SURELY_UNSET_VAR is not set" },
	{ "[paths]\nstate = ${HOME\n", "t:2: bad path '${HOME'" },
	{ "[spool]\nttl = 30s\nepoch = 60s\n", "t: spool epoch (60s) is longer than its ttl (30s)" },
	{ "[spool]\nttl = 30s\n", "t: spool epoch (60s) is longer than its ttl (30s)" },
	{ "[keys]\nmaster = command:\n", "t:2: empty value for 'master'" },
	{ "[google]\nquota = fast\n", "t: bad quota 'fast' (legacy, 2026, off or an absolute path)" },
	{ "[backup]\nkeep = -1\n", "t:2: bad count '-1'" },
	/* Labels Gmail owns, by id or by the name it shows, in any case. */
	{ TEAM "label = Inbox\n", "t:4: label 'Inbox' is Gmail's system label INBOX; name a label "
	    "of your own" },
	{ TEAM "label = SPAM\n", "t:4: label 'SPAM' is Gmail's system label SPAM; name a label of "
	    "your own" },
	{ TEAM "label = \"trash\"\n", "t:4: label 'trash' is Gmail's system label TRASH; name a "
	    "label of your own" },
	{ TEAM "label = Drafts\n", "t:4: label 'Drafts' is Gmail's system label DRAFT; name a "
	    "label of your own" },
	{ TEAM "label = category_social\n", "t:4: label 'category_social' is Gmail's system label "
	    "CATEGORY_SOCIAL; name a label of your own" },
	{ TEAM "label = Sent Mail\n", "t:4: label 'Sent Mail' is Gmail's system label SENT; name a "
	    "label of your own" },
	{ "[team \"inbox\"]\nsource = s@x\nmembers = m@x\n", "t:1: team 'inbox' has no 'label =', "
	    "and its name, as a label, is Gmail's system label INBOX; name a label of your own" },
	{ TEAM "label = \" Inbox\"\n", "t:4: label ' Inbox' begins or ends with a space, which "
	    "Gmail drops" },
	{ TEAM "label = Support/\n", "t:4: label 'Support/' has an empty level (a '/' at an end "
	    "or two together)" },
	{ TEAM "label = a//b\n", "t:4: label 'a//b' has an empty level (a '/' at an end or two "
	    "together)" },
	{ TEAM "label = \"a\tb\"\n", "t:4: label 'a\tb' holds a control character" },
	{ TEAM "label = " L226 "\n", "t:4: label '" L100 "' is longer than Gmail takes (225 "
	    "characters)" },
	{ TEAM "topic = projects/my-project/topics/t1\n", "t:1: team 'a' has a topic but no "
	    "subscription: following needs both" },
	{ TEAM "subscription = projects/my-project/subscriptions/s1\n", "t:1: team 'a' has a "
	    "subscription but no topic: following needs both" },
	{ TEAM "topic = projects/my-project/subscriptions/t1\nsubscription = "
	    "projects/my-project/subscriptions/s1\n", "t:1: team 'a': topic "
	    "'projects/my-project/subscriptions/t1' is not projects/PROJECT/topics/TOPIC" },
	{ TEAM "topic = projects/P/topics/t1\nsubscription = projects/P/subscriptions/s1\n",
	    "t:1: team 'a': topic 'projects/P/topics/t1' has a bad project id (6 to 30 of a-z, "
	    "0-9 and '-', a letter first)" },
	{ TEAM "poll = 0\n", "t:4: bad duration '0' (say 90s, 10m, 4h or 7d)" },
	{ "[google]\npubsub = http://pubsub.example\n", "t: [google] pubsub "
	    "'http://pubsub.example' is plain http to a host that is not loopback (127.0.0.0/8, ::1, "
	    "localhost): say https" },
	{ "[google]\nresumable_above = 5MB\n", "t:2: bad size '5MB' (say 5M, 512K, 6291456 or off)" },
	{ "[google]\nresumable_above = 0\n", "t:2: bad size '0' (say 5M, 512K, 6291456 or off)" },
	{ "[google]\nresumable_above = -5M\n", "t:2: bad size '-5M' (say 5M, 512K, 6291456 or off)" },
	{ "[google]\nresumable_above = 5 M\n", "t:2: bad size '5 M' (say 5M, 512K, 6291456 or off)" },
	{ "[google]\nresumable_above = 9999999999999G\n",
	  "t:2: bad size '9999999999999G' (say 5M, 512K, 6291456 or off)" },
	{ "[google]\nresumable_above = never\n", "t:2: bad size 'never' (say 5M, 512K, 6291456 or off)" },
};

static void
test_full(void)
{
	struct hv_config c;
	struct hv_err e = { 0 };
	const struct hv_team *t;
	char want[512];
	int r;

	setenv("HOME", "/home/u", 1);
	setenv("XDG_RUNTIME_DIR", "/run/user/7", 1);
	r = hv_config_parse(&c, "t", full, sizeof full - 1, &e);
	if (!ok(r == 0, "a full config parses"))
		printf("#   %s\n", e.msg);
	if (r != 0)
		return;
	is_str(c.paths.state, "/var/lib/hv/hv.db", "plain path");
	is_str(c.paths.spool, "/run/user/7/hv/spool", "${VAR} expands, comment dropped");
	is_str(c.paths.audit, "/home/u/audit.log", "~ expands");
	is_str(c.keys.master, "command:pass show hv # master", "quoted value keeps its #");
	is_str(c.google.api, "https://127.0.0.1:8443", "url");
	is_str(c.google.oauth, "https://oauth2.googleapis.com", "default oauth endpoint");
	is_str(c.google.quota, "2026", "quota table");
	is_int(c.spool.ttl, 600, "10m is 600 s");
	is_int(c.spool.epoch, 30, "30s is 30 s");
	is_int(c.spool.allow_disk, 1, "yes is true");
	is_int(c.nteams, 2, "two teams");
	t = hv_config_team(&c, "support");
	ok(t != NULL && t->nmembers == 3, "support has three members");
	if (t != NULL && t->nmembers == 3) {
		is_str(t->members[1], "b@example.com", "list split on comma and space");
		ok(t->members[3] == NULL, "member list ends with NULL");
		is_int(t->import, 0, "import = no");
		is_str(t->label, "Support", "label");
	}
	t = hv_config_team(&c, "sales");
	ok(t != NULL && t->group != NULL && strcmp(t->label, "sales") == 0 && t->import == 1,
	    "a group team, label defaults to its name, import to yes");
	ok(hv_config_team(&c, "nope") == NULL, "unknown team is NULL");
	ok(c.backup.nto == 2 && strcmp(c.backup.to[1], "s3://bucket/hv") == 0, "backup targets");
	is_int(c.backup.every, 4 * 3600, "every 4h");
	is_int(c.backup.keep, 42, "keep");
	snprintf(want, sizeof want, "/home/u/.local/state/hv/hv.db");
	hv_config_free(&c);
	unsetenv("XDG_STATE_HOME");
	r = hv_config_parse(&c, "t", "", 0, &e);
	ok(r == 0 && strcmp(c.paths.state, want) == 0, "empty config: defaults, XDG fallback");
	ok(c.spool.ttl == 600 && c.spool.epoch == 60 && c.spool.allow_disk == 0,
	    "spool defaults 10m, 60s, not on disk");
	/* Every project made since May 2026 has the 2026 table: paced by the
	 * legacy one, hv would run 2.5 times too fast into 429s. */
	is_str(c.google.quota, "2026", "the quota table defaults to 2026");
	hv_config_free(&c);
	r = hv_config_parse(&c, "t", "[keys]\nmaster = ~/k\n[spool]\nepoch = 20m\nttl = 1h\n", 49, &e);
	ok(r == 0 && strcmp(c.keys.master, "/home/u/k") == 0, "a master key path expands ~");
	is_int(c.spool.epoch, 1200, "an epoch longer than the default ttl is fine with a longer ttl");
	hv_config_free(&c);
	r = hv_config_parse(&c, "t", "[keys]\nmaster = keyring:hv\n", 27, &e);
	ok(r == 0 && strcmp(c.keys.master, "keyring:hv") == 0, "a keyring source stays as it is");
	hv_config_free(&c);
}

/* System label ids are exact (opaque user ids are compared as bytes);
 * names are matched without regard to case. */
static void
test_syslabels(void)
{
	ok(hv_syslabel_id("INBOX", 5) && hv_syslabel_id("CATEGORY_FORUMS", 15) &&
	    hv_syslabel_id("CHAT", 4), "system ids");
	ok(!hv_syslabel_id("inbox", 5) && !hv_syslabel_id("Label_1", 7) &&
	    !hv_syslabel_id("INBOXES", 7) && !hv_syslabel_id("", 0) &&
	    !hv_syslabel_id("CATEGORY_", 9), "user label ids, whatever their shape");
	is_str(hv_syslabel_of("inbox"), "INBOX", "inbox");
	is_str(hv_syslabel_of("bin"), "TRASH", "Bin is Trash");
	is_str(hv_syslabel_of("PRIMARY"), "CATEGORY_PERSONAL", "Primary is the personal category");
	ok(hv_syslabel_of("Inbox/Sub") == NULL && hv_syslabel_of("Inboxes") == NULL &&
	    hv_syslabel_of("") == NULL, "names that only look alike");
}

/* Names near the system labels' that are a team's own. */
static void
test_labels_ok(void)
{
	static const char *const names[] = { "Support", "Inboxes", "My Inbox", "Support/Inbox",
	    "spam-reports", "\"Sent \\\\ Received\"", "CATEGORY", L100 L100 L10 L10 "abcde",
	    "\xc3\xa9quipe", };
	struct hv_config c;
	struct hv_err e;
	char text[1024];
	size_t i;
	int n;

	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		memset(&e, 0, sizeof e);
		n = snprintf(text, sizeof text, TEAM "label = %s\n", names[i]);
		is_int(hv_config_parse(&c, "t", text, (size_t)n, &e), 0, "label = %.40s: taken %s",
		    names[i], e.msg);
		hv_config_free(&c);
	}
}

static int
collect(const struct hv_config_item *it, void *arg)
{
	struct hv_buf *b = arg;

	return hv_buf_addf(b, "%d %s.%s%s%s=%s\n", it->line, it->section,
	    it->team ? it->team : "", it->team ? "." : "", it->key, it->value);
}

/* hv-doctor config: each value with the line that set it, 0 for defaults. */
static void
test_each(void)
{
	struct hv_buf b = HV_BUF_INIT(1 << 20);
	struct hv_config c;
	struct hv_err e = { 0 };
	const char *d;

	if (!ok(hv_config_parse(&c, "t", full, strlen(full), &e) == 0, "parse for each"))
		return;
	ok(hv_config_each(&c, collect, &b) == 0, "each value in force");
	d = b.data ? b.data : "";
	ok(strstr(d, "3 paths.state=/var/lib/hv/hv.db\n") != NULL, "a path, its line");
	ok(strstr(d, "7 keys.master=command:pass show hv # master\n") != NULL,
	    "a command key source as written");
	ok(strstr(d, "13 spool.ttl=10m\n") != NULL && strstr(d, "14 spool.epoch=30s\n"),
	    "durations in their unit");
	ok(strstr(d, "0 google.oauth=https://oauth2.googleapis.com\n") != NULL,
	    "a default is line 0");
	ok(strstr(d, "18 team.support.members=a@example.com b@example.com c@example.com\n")
	    != NULL, "a list, space-separated");
	ok(strstr(d, "20 team.support.import=no\n") != NULL &&
	    strstr(d, "0 team.sales.import=yes\n") != NULL, "team keys per team");
	ok(strstr(d, "0 team.sales.label=sales\n") != NULL, "a team's default label");
	ok(strstr(d, "team.sales.query") == NULL && strstr(d, "google.directory=") != NULL &&
	    strstr(d, "backup.endpoint") == NULL, "unset optional keys left out");
	ok(strstr(d, "team.support.source") < strstr(d, "team.support.label") &&
	    strstr(d, "team.support.label") < strstr(d, "team.sales.source"),
	    "each team's keys together");
	hv_buf_release(&b);
	hv_config_free(&c);
}

int
main(void)
{
	struct hv_config c;
	struct hv_err e = { 0 };
	long d;
	size_t i;

	test_full();
	test_each();
	test_labels_ok();
	test_syslabels();
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memset(&e, 0, sizeof e);
		is_int(hv_config_parse(&c, "t", bad[i].text, strlen(bad[i].text), &e),
		    HV_ECONFIG, "bad config %zu refused", i);
		is_str(e.msg, bad[i].message, "bad config %zu says why", i);
	}
	is_int(hv_config_parse(&c, "t", "[paths]\0", 8, &e), HV_ECONFIG, "a NUL byte is refused");
	is_int(hv_config_load(&c, "/nonexistent/hv.conf", &e), HV_ENOINPUT,
	    "an explicit config that is missing");
	ok(hv_parse_size("5M", &d) == 0 && d == 5L * 1024 * 1024, "size 5M");
	ok(hv_parse_size("512k", &d) == 0 && d == 512L * 1024, "size 512k");
	ok(hv_parse_size("1G", &d) == 0 && d == 1024L * 1024 * 1024, "size 1G");
	ok(hv_parse_size("6291456", &d) == 0 && d == 6291456, "size in bytes");
	ok(hv_parse_size("", &d) < 0 && hv_parse_size("M", &d) < 0 && hv_parse_size("1MM", &d) < 0 &&
	    hv_parse_size("+1", &d) < 0 && hv_parse_size("1.5M", &d) < 0 &&
	    hv_parse_size("1T", &d) < 0 && hv_parse_size("99999999999999999999", &d) < 0,
	    "bad sizes refused");
	is_int(hv_config_parse(&c, "t", "", 0, &e), 0, "an empty config");
	ok(c.google.resumable_above == 5L * 1024 * 1024, "resumable_above defaults to 5 MiB");
	is_str(c.google.pubsub, "https://pubsub.googleapis.com", "pubsub's default");
	is_int(c.google.poll, 300, "the safety poll defaults to 5 minutes");
	hv_config_free(&c);
	{
		static const char f[] = "[google]\npoll = 2m\n" TEAM
		    "topic = projects/my-project/topics/topic1\n"
		    "subscription = projects/my-project/subscriptions/sub1\n"
		    "[team \"b\"]\nsource = s@x\nmembers = m@x\n"
		    "topic = projects/my-project/topics/topic1\n"
		    "subscription = projects/my-project/subscriptions/sub2\npoll = 30s\n";

		if (!ok(hv_config_parse(&c, "t", f, strlen(f), &e) == 0, "two teams that follow"))
			printf("#   %s\n", e.msg);
		is_int(c.teams[0].poll, 120, "a team's poll is [google]'s when unset");
		is_int(c.teams[1].poll, 30, "or its own");
		is_str(c.teams[1].subscription, "projects/my-project/subscriptions/sub2",
		    "the subscription");
		hv_config_free(&c);
	}
	is_int(hv_config_parse(&c, "t", "[google]\nresumable_above = off\n", 31, &e), 0,
	    "resumable_above = off");
	ok(c.google.resumable_above == -1, "off is -1: never resumable");
	hv_config_free(&c);
	is_int(hv_config_parse(&c, "t", "[google]\nresumable_above = 1k\n", 30, &e), 0,
	    "resumable_above = 1k");
	ok(c.google.resumable_above == 1024, "1k is 1024 bytes");
	hv_config_free(&c);
	ok(hv_parse_duration("7d", &d) == 0 && d == 7 * 86400, "7d");
	ok(hv_parse_duration("90", &d) == 0 && d == 90, "bare seconds");
	ok(hv_parse_duration("1x", &d) < 0 && hv_parse_duration("m", &d) < 0 &&
	    hv_parse_duration("1mm", &d) < 0 && hv_parse_duration("-1", &d) < 0 &&
	    hv_parse_duration("99999999999999999999", &d) < 0, "bad durations refused");
	return tap_done();
}
