#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "auth.h"
#include "clock.h"
#include "fetch.h"
#include "follow.h"
#include "http.h"
#include "index.h"
#include "mem.h"
#include "pubsub.h"
#include "banned.h"

#define DAY 86400L
#define BACKOFF_MAX 300L	/* seconds: Google or the network away */
#define PULL_TIMEOUT 60L	/* seconds a long poll may take, and any call */
#define PULL_BATCH 10		/* messages asked for per pull */
#define PENDING_MAX 1000	/* ack ids held for a run; more come back anyway */

static volatile sig_atomic_t stop;
static int wake[2] = { -1, -1 };

static void
on_signal(int sig)
{
	int saved = errno;

	(void)sig;
	stop = 1;
	/* The pipe is non-blocking: a full one is woken already. */
	if (wake[1] >= 0)
		(void)!write(wake[1], "x", 1);
	errno = saved;
}

/* A call on the multi handle, and how it ended. */
struct slot {
	int done, rc;
	struct hv_err e;
	struct hv_http_response resp;
	struct hv_buf body;	/* borrowed by libcurl until done */
};

struct follow {
	const struct hv_config *cfg;
	const struct hv_team *team;
	const struct hv_fetch_io *io;
	struct hv_auth *auth;
	struct hv_http_multi *http;
	struct hv_buf token;		/* secret */
	long day;			/* seconds, HV_TEST_FOLLOW_DAY in tests */
	struct slot pull;
	int pulling;
	int pull_refused;		/* the last pull was answered 401 */
	long long pull_started;
	/* Ack ids of notifications for the source, acked after the next run
	 * that ends well; and of others, acked at once. */
	char **pending;
	size_t npending;
	char **others;
	size_t nothers;
	int want_run;			/* a notification past the cursor came */
	struct hv_buf cursor;		/* the fetch cursor, as last read */
	long long next_poll, next_watch;
	long backoff;
};

static void
note(struct follow *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
note(struct follow *f, const char *fmt, ...)
{
	char msg[HV_ERR_MSG];
	va_list ap;

	if (f->io->note == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	f->io->note(0, msg, f->io->arg);
}

/* Errors a later try may cure: the loop waits and tries again. */
static int
transient(int rc)
{
	return rc == HV_ETEMP || rc == HV_ENOHOST || rc == HV_EPROTO || rc == HV_EUNAVAIL;
}

static void
slot_init(struct slot *s, size_t max)
{
	memset(s, 0, sizeof *s);
	hv_http_response_init(&s->resp, max);
	hv_buf_init(&s->body, HV_PUBSUB_PULL_MAX * (HV_PUBSUB_ACKID_MAX + 8) + 64);
}

static void
slot_release(struct slot *s)
{
	hv_http_response_release(&s->resp);
	hv_buf_release(&s->body);
}

static void
slot_done(void *arg, int rc, const struct hv_err *e)
{
	struct slot *s = arg;

	s->done = 1;
	s->rc = rc;
	if (rc < 0 && e != NULL)
		s->e = *e;
}

/* Google's answer as a status: what an HTTP status means for following. */
static int
judge(const struct hv_http_response *resp, const char *what, struct hv_err *e)
{
	const char *why = resp->body.data != NULL ? resp->body.data : "";
	int n = (int)(resp->body.len < 300 ? resp->body.len : 300);

	if (resp->status >= 200 && resp->status < 300)
		return 0;
	if (resp->status == 401 || resp->status == 403)
		return hv_err_set(e, HV_EPERM, "%s: access refused (HTTP %ld): %.*s", what,
		    resp->status, n, why);
	if (resp->status == 404 || resp->status == 400)
		return hv_err_set(e, HV_ECONFIG, "%s: HTTP %ld (check the topic, the "
		    "subscription and the publish grant, hv-fetch(1)): %.*s", what,
		    resp->status, n, why);
	if (resp->status == 429 || resp->status >= 500)
		return hv_err_set(e, HV_ETEMP, "%s: HTTP %ld", what, resp->status);
	return hv_err_set(e, HV_EPROTO, "%s: unexpected HTTP %ld", what, resp->status);
}

/* Start a POST of s->body to url with the source's token. */
static int
post_start(struct follow *f, const char *url, struct slot *s, struct hv_err *e)
{
	struct hv_http_request req = { 0 };
	int rc;

	hv_buf_reset(&f->token);
	if ((rc = hv_auth_token(f->auth, f->team->source, &f->token, e)) < 0)
		return rc;
	req.method = "POST";
	req.url = url;
	req.bearer = f->token.data;
	req.content_type = "application/json";
	req.body = s->body.data;
	req.body_len = s->body.len;
	s->done = 0;
	hv_buf_reset(&s->resp.body);
	s->resp.status = 0;
	/* The token stays in f->token: a 401 names it as the one refused. */
	return hv_http_multi_start(f->http, &req, &s->resp, slot_done, s, e);
}

/* Google refused the token in f->token: ask for another, once. */
static int
token_renew(struct follow *f, struct hv_err *e)
{
	struct hv_buf refused;
	int rc;

	hv_buf_init_secret(&refused, 8192);
	hv_buf_add(&refused, f->token.data ? f->token.data : "", f->token.len);
	hv_buf_reset(&f->token);
	rc = hv_auth_token_renew(f->auth, f->team->source, refused.data, &f->token, e);
	hv_buf_release(&refused);
	return rc;
}

/*
 * One call, to its end; the pull under way, if any, moves on meanwhile
 * (its slot keeps its answer for the loop).  A 401 gets one renewed
 * token.
 */
static int
call(struct follow *f, const char *url, struct slot *s, const char *what, struct hv_err *e)
{
	int rc = 0, try;

	for (try = 0; try < 2; try++) {
		if ((rc = post_start(f, url, s, e)) < 0)
			return rc;
		while (!s->done && (rc = hv_http_multi_wait(f->http, 1000, -1, NULL, e)) == 0)
			;
		if (rc < 0)
			return rc;
		if ((rc = s->rc) < 0) {
			*e = s->e;
			return rc;
		}
		if (s->resp.status != 401 || try > 0)
			break;
		if ((rc = token_renew(f, e)) < 0)
			return rc;
	}
	return judge(&s->resp, what, e);
}

static void
url_of(struct hv_buf *u, const char *base, const char *path, const char *verb)
{
	hv_buf_addf(u, "%s/v1/%s%s", base, path, verb);
}

/* Whether history id a (digits) comes after b. */
static int
history_after(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);

	return na != nb ? na > nb : strcmp(a, b) > 0;
}

/* users.watch on the source; the expiration kept for hv-doctor. */
static int
watch(struct follow *f, struct hv_err *e)
{
	struct hv_buf url = HV_BUF_INIT(4096);
	struct slot s;
	char when[32];
	long long exp = 0, now = hv_now(), next;
	int rc;

	slot_init(&s, 64 * 1024);
	hv_buf_addf(&url, "%s/gmail/v1/users/", f->cfg->google.api);
	hv_http_escape(&url, f->team->source);
	hv_buf_adds(&url, "/watch");
	hv_pubsub_watch_body(&s.body, f->team->topic);
	if ((rc = call(f, url.data, &s, "users.watch", e)) == 0 &&
	    (rc = hv_pubsub_watch_parse(s.resp.body.data, s.resp.body.len, &exp, e)) == 0) {
		exp /= 1000;
		snprintf(when, sizeof when, "%lld", exp);
		rc = hv_index_cursor_put(hv_auth_store(f->auth), f->team->source, "watch", when,
		    now, e);
	}
	if (rc == 0) {
		/* Daily, as Google advises; sooner when the expiry is near,
		 * but never in a loop. */
		next = exp - now > 2 * f->day ? f->day : (exp - now) / 2;
		f->next_watch = now + (next > 10 || next >= f->day ? next : 10);
		note(f, "%s: watching for %s, %lld s left, renewing in %lld s", f->team->name,
		    f->team->source, exp - now, f->next_watch - now);
	}
	slot_release(&s);
	hv_buf_release(&url);
	return rc;
}

static void
list_clear(char ***l, size_t *n)
{
	for (size_t i = 0; i < *n; i++)
		free((*l)[i]);
	free(*l);
	*l = NULL;
	*n = 0;
}

/* Acknowledge the ids of l, and forget them once Pub/Sub has. */
static int
ack(struct follow *f, char ***l, size_t *n, struct hv_err *e)
{
	struct hv_buf url = HV_BUF_INIT(4096);
	struct slot s;
	size_t i, k;
	int rc = 0;

	if (*n == 0)
		return 0;
	slot_init(&s, 64 * 1024);
	url_of(&url, f->cfg->google.pubsub, f->team->subscription, ":acknowledge");
	for (i = 0; rc == 0 && i < *n; i += k) {
		k = *n - i < HV_PUBSUB_PULL_MAX ? *n - i : HV_PUBSUB_PULL_MAX;
		hv_buf_reset(&s.body);
		hv_pubsub_ack_body(&s.body, *l + i, k);
		rc = call(f, url.data, &s, "acknowledge", e);
	}
	/* An ack that failed is for Pub/Sub to redeliver: a later run
	 * finds nothing new in it. */
	list_clear(l, n);
	slot_release(&s);
	hv_buf_release(&url);
	return rc;
}

static void
hold(char ***l, size_t *n, const char *id)
{
	if (*n >= PENDING_MAX)
		return;	/* not acked: Pub/Sub delivers it again */
	*l = hv_xrealloc(*l, (*n + 1) * sizeof **l);
	(*l)[(*n)++] = hv_xstrdup(id);
}

/* One received message: for the source, past the cursor, it asks for a
 * run; everything else is acked without one. */
static int
received(const char *ack_id, const char *data, size_t len, void *arg)
{
	struct follow *f = arg;
	struct hv_pubsub_note n;
	struct hv_err e = { 0 };

	if (hv_pubsub_note_parse(data, len, &n, &e) < 0) {
		note(f, "%s: ignoring a notification: %s", f->team->subscription, e.msg);
		hold(&f->others, &f->nothers, ack_id);
	} else if (strcasecmp(n.email, f->team->source) != 0) {
		hold(&f->others, &f->nothers, ack_id);
	} else if (f->cursor.len > 0 && !history_after(n.history_id, f->cursor.data)) {
		/* A duplicate, or a change a run has already seen. */
		hold(&f->others, &f->nothers, ack_id);
	} else {
		hold(&f->pending, &f->npending, ack_id);
		f->want_run = 1;
	}
	return 0;
}

static int
pull_start(struct follow *f, struct hv_err *e)
{
	struct hv_buf url = HV_BUF_INIT(4096);
	int rc;

	url_of(&url, f->cfg->google.pubsub, f->team->subscription, ":pull");
	hv_buf_reset(&f->pull.body);
	hv_pubsub_pull_body(&f->pull.body, PULL_BATCH);
	if ((rc = post_start(f, url.data, &f->pull, e)) == 0) {
		f->pulling = 1;
		f->pull_started = hv_now();
	}
	hv_buf_release(&url);
	return rc;
}

/* A pull that ended: its notifications sorted, the rest judged. */
static int
pull_end(struct follow *f, struct hv_err *e)
{
	int rc;

	f->pulling = 0;
	if ((rc = f->pull.rc) < 0) {
		*e = f->pull.e;
		/* A long poll that ran out of time says only that no mail came. */
		if (rc == HV_ETEMP && hv_now() - f->pull_started >= PULL_TIMEOUT - 5)
			return 0;
		return rc;
	}
	/* A token that ran out while the pull was held: one more try. */
	if (f->pull.resp.status == 401 && !f->pull_refused) {
		f->pull_refused = 1;
		return token_renew(f, e);
	}
	if ((rc = judge(&f->pull.resp, "pull", e)) < 0)
		return rc;
	f->pull_refused = 0;
	return hv_pubsub_pull_parse(f->pull.resp.body.data, f->pull.resp.body.len, received, f,
	    e);
}

/* The same run as hv-fetch's, then the acks it earned. */
static int
run(struct follow *f, struct hv_err *e)
{
	struct hv_fetch_opts o = { 0 };
	struct hv_fetch_stats st;
	int rc;

	o.team = f->team->name;
	o.stop = &stop;
	f->want_run = 0;
	rc = hv_fetch_run(f->cfg, &o, f->io, &st, e);
	if (rc == 0 && (st.fetched || st.refetched || st.failed))
		note(f, "%s: fetched %ld, refetched %ld, failed %ld; %ld calls", f->team->name,
		    st.fetched, st.refetched, st.failed, st.calls);
	if (rc < 0)
		return rc;
	hv_buf_reset(&f->cursor);
	(void)hv_index_cursor_get(hv_auth_store(f->auth), f->team->source, "fetch", &f->cursor,
	    NULL);
	f->next_poll = hv_now() + f->team->poll;
	/* Cut short by a signal: the next start catches up; no ack for
	 * what this run may not have seen. */
	return st.cut ? 0 : ack(f, &f->pending, &f->npending, e);
}

/* One turn of the loop: what is due, then a wait for the next thing. */
static int
turn(struct follow *f, struct hv_err *e)
{
	long long now = hv_now(), until;
	int rc = 0, ready;
	char drain[64];

	if (now >= f->next_watch && (rc = watch(f, e)) < 0 && transient(rc)) {
		/* A watch made earlier may still run: follow on meanwhile,
		 * the safety poll covering what it misses. */
		note(f, "%s (the watch is tried again in a minute)", e->msg);
		f->next_watch = now + 60;
		rc = 0;
	}
	if (rc == 0 && (f->want_run || now >= f->next_poll) && !stop)
		rc = run(f, e);
	if (rc == 0 && f->nothers > 0)
		rc = ack(f, &f->others, &f->nothers, e);
	if (rc == 0 && !f->pulling && !stop)
		rc = pull_start(f, e);
	if (rc < 0 || stop)
		return rc;
	/* A pull that ended while another call ran: no wait for it. */
	if (f->pulling && f->pull.done)
		return pull_end(f, e);
	until = f->next_poll < f->next_watch ? f->next_poll : f->next_watch;
	now = hv_now();
	rc = hv_http_multi_wait(f->http, until > now ? (long)(until - now) * 1000 : 0, wake[0],
	    &ready, e);
	if (ready)
		while (read(wake[0], drain, sizeof drain) > 0)
			;
	if (rc == 0 && f->pulling && f->pull.done)
		rc = pull_end(f, e);
	return rc;
}

/* Wait out a backoff, or a signal. */
static void
pause_for(struct follow *f, long secs)
{
	long long until = hv_now() + secs;
	int ready;
	char drain[64];

	while (!stop && hv_now() < until) {
		if (hv_http_multi_wait(f->http, 1000, wake[0], &ready, NULL) < 0)
			(void)sleep(1);
		if (ready)
			while (read(wake[0], drain, sizeof drain) > 0)
				;
	}
}

static long
test_day(void)
{
	const char *s = getenv("HV_TEST_FOLLOW_DAY");
	char *end;
	long v;

	if (s == NULL || *s == '\0')
		return DAY;
	v = strtol(s, &end, 10);
	return *end == '\0' && v > 0 && v <= DAY ? v : DAY;
}

static int
follow_open(struct follow *f, const struct hv_config *c, const char *team,
    const struct hv_fetch_io *io, struct hv_err *e)
{
	int rc;

	memset(f, 0, sizeof *f);
	f->cfg = c;
	f->io = io;
	f->day = test_day();
	hv_buf_init_secret(&f->token, 8192);
	hv_buf_init(&f->cursor, 64);
	slot_init(&f->pull, HV_PUBSUB_ANSWER_MAX);
	if ((f->team = hv_config_team(c, team)) == NULL)
		return hv_err_set(e, HV_ECONFIG, "no team '%s' in %s", team,
		    c->file ? c->file : "the configuration");
	if (f->team->subscription == NULL)
		return hv_err_set(e, HV_ECONFIG, "team '%s' has no topic and subscription to "
		    "follow (hv.conf(5), hv-fetch(1))", team);
	if ((rc = hv_auth_open(&f->auth, c, e)) < 0 ||
	    (rc = hv_http_multi_new(&f->http, c->google.ca_file, PULL_TIMEOUT, e)) < 0)
		return rc;
	if (pipe(wake) < 0)
		return hv_err_errno(e, HV_EIO, errno, "cannot make a pipe");
	(void)fcntl(wake[0], F_SETFL, O_NONBLOCK);
	(void)fcntl(wake[1], F_SETFL, O_NONBLOCK);
	(void)fcntl(wake[0], F_SETFD, FD_CLOEXEC);
	(void)fcntl(wake[1], F_SETFD, FD_CLOEXEC);
	return 0;
}

static void
follow_close(struct follow *f)
{
	/* Transfers still running are dropped: an unacked pull is
	 * delivered again after its ack deadline. */
	hv_http_multi_free(f->http);
	slot_release(&f->pull);
	list_clear(&f->pending, &f->npending);
	list_clear(&f->others, &f->nothers);
	hv_buf_release(&f->cursor);
	hv_buf_release(&f->token);
	hv_auth_close(f->auth);
	if (wake[0] >= 0) {
		close(wake[0]);
		close(wake[1]);
		wake[0] = wake[1] = -1;
	}
}

int
hv_follow(const struct hv_config *c, const char *team, const struct hv_fetch_io *io,
    struct hv_err *e)
{
	struct sigaction sa, old_term, old_int;
	struct follow f;
	int rc;

	stop = 0;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* Restarted: a write to the pipe must not fail for a signal. */
	sa.sa_flags = SA_RESTART;
	if ((rc = follow_open(&f, c, team, io, e)) == 0) {
		sigaction(SIGTERM, &sa, &old_term);
		sigaction(SIGINT, &sa, &old_int);
		while (!stop) {
			if ((rc = turn(&f, e)) == 0) {
				f.backoff = 0;
				continue;
			}
			if (!transient(rc))
				break;
			/* Google or the network is away: wait, then again. */
			f.backoff = f.backoff ? f.backoff * 2 : 1;
			if (f.backoff > BACKOFF_MAX)
				f.backoff = BACKOFF_MAX;
			note(&f, "%s (trying again in %lds)", e->msg, f.backoff);
			pause_for(&f, f.backoff);
			rc = 0;
		}
		sigaction(SIGTERM, &old_term, NULL);
		sigaction(SIGINT, &old_int, NULL);
	}
	follow_close(&f);
	return rc;
}

int
hv_follow_watch_expiry(struct hv_store *s, const char *account, long long *expiry,
    struct hv_err *e)
{
	struct hv_buf v = HV_BUF_INIT(64);
	char *end;
	int rc;

	*expiry = 0;
	if ((rc = hv_index_cursor_get(s, account, "watch", &v, e)) == 0) {
		*expiry = strtoll(v.data, &end, 10);
		if (*end != '\0' || *expiry <= 0)
			rc = hv_err_set(e, HV_EDATA, "the watch expiry of '%s' is no time",
			    account);
	}
	hv_buf_release(&v);
	return rc;
}

int
hv_follow_subscription_check(const struct hv_config *c, struct hv_auth *a,
    const struct hv_team *t, struct hv_err *e)
{
	struct hv_buf url = HV_BUF_INIT(4096), token = HV_BUF_INIT(8192);
	struct hv_http_request req = { 0 };
	struct hv_http_response resp;
	struct hv_http *h = NULL;
	int rc;

	hv_buf_init_secret(&token, 8192);
	hv_http_response_init(&resp, 64 * 1024);
	url_of(&url, c->google.pubsub, t->subscription, "");
	req.method = "GET";
	req.url = url.data;
	if ((rc = hv_auth_token(a, t->source, &token, e)) == 0 &&
	    (rc = hv_http_new(&h, c->google.ca_file, 30, e)) == 0) {
		req.bearer = token.data;
		if ((rc = hv_http_request(h, &req, &resp, e)) == 0)
			rc = judge(&resp, t->subscription, e);
	}
	hv_http_free(h);
	hv_http_response_release(&resp);
	hv_buf_release(&token);
	hv_buf_release(&url);
	return rc;
}
