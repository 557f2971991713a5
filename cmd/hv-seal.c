/*
 * hv-seal: seal and open files in the hv-seal(5) format.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "err.h"
#include "file.h"
#include "json.h"
#include "keys.h"
#include "mem.h"
#include "msg.h"
#include "sandbox.h"
#include "seal.h"
#include "banned.h"

static const char usage_text[] =
    "usage: hv-seal [-k keyfile | -r recipient] [-a context] [in [out]]\n"
    "       hv-seal -d [-k keyfile | -i identity] [-a context] [in [out]]\n"
    "       hv-seal keygen [-p] [file]\n"
    "       hv-seal -y identity\n"
    "       hv-seal inspect [in]\n"
    "common options: [-c config] [-v | -q] [-h] [-V]\n";

struct opts {
	const char *config;
	const char *keyfile;
	const char *identity;
	const char *recipient;
	const char *context;
	const char *of_identity;	/* -y */
	int open;
	int public;
};

/* -r takes the recipient itself, or a file that holds it. */
static int
load_recipient(struct hv_seal_key **k, const char *arg, struct hv_err *e)
{
	struct hv_buf b = HV_BUF_INIT(HV_KEY_TEXT_MAX + 2);
	int r;

	if (strncmp(arg, "hvpub1", 6) == 0)
		return hv_key_recipient(k, arg, e);
	if ((r = hv_file_read(arg, &b, e)) == HV_EDATA)
		r = hv_err_set(e, HV_EDATA, "'%s' is not a recipient file", arg);
	if (r == 0)
		r = hv_key_recipient(k, b.data ? b.data : "", e);
	hv_buf_release(&b);
	return r;
}

/* Without -k/-i/-r: the master key from the config, derived for hv-seal. */
static int
load_master(struct hv_seal_key **k, const char *config, struct hv_err *e)
{
	struct hv_config c;
	uint8_t *master = hv_secure_alloc(2 * HV_KEY_LEN), *key = master + HV_KEY_LEN;
	int r;

	*k = NULL;
	if ((r = hv_config_load(&c, config, e)) < 0)
		goto out;
	if ((r = hv_master_load(c.keys.master, master, e)) == 0 &&
	    (r = hv_key_derive(key, master, "seal", e)) == 0)
		r = hv_seal_key_symmetric(k, key, e);
	hv_config_free(&c);
out:
	hv_secure_free(master, 2 * HV_KEY_LEN);
	return r;
}

static int
load_key(struct hv_seal_key **k, const struct opts *o, struct hv_err *e)
{
	if (o->recipient != NULL)
		return load_recipient(k, o->recipient, e);
	if (o->identity != NULL)
		return hv_key_load(k, o->identity, HV_KEY_IDENTITY, e);
	if (o->keyfile != NULL)
		return hv_key_load(k, o->keyfile, HV_KEY_SYMMETRIC, e);
	return load_master(k, o->config, e);
}

static int
reads_stdin(const char *path)
{
	return path != NULL && (strcmp(path, "-") == 0 || strcmp(path, "/dev/stdin") == 0 ||
	    strcmp(path, "/dev/fd/0") == 0 || strcmp(path, "/proc/self/fd/0") == 0);
}

static int
open_in(const char *path, struct hv_err *e)
{
	int fd;

	if (path == NULL || strcmp(path, "-") == 0)
		return STDIN_FILENO;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return hv_err_errno(e, HV_ENOINPUT, errno, "cannot open '%s'", path);
	return fd;
}

/*
 * Seal or open in to out.  A named output is written under a temporary
 * name and renamed only when the whole stream has been processed, so a
 * failed open leaves nothing behind that could pass for the plaintext.
 */
static int
run_stream(const struct opts *o, const char *in, const char *out, struct hv_err *e)
{
	struct hv_seal_key *k = NULL;
	struct hv_atomic a = { -1, NULL, NULL };
	struct stat st;
	const char *ctx = o->context ? o->context : "";
	int in_fd = -1, out_fd = STDOUT_FILENO, dev_fd = -1, r;

	if (!o->open && (out == NULL || strcmp(out, "-") == 0) && isatty(STDOUT_FILENO))
		return hv_err_set(e, HV_EUSAGE, "refusing to write sealed data to a "
		    "terminal; redirect it or name an output file");
	if (reads_stdin(o->keyfile) + reads_stdin(o->identity) + reads_stdin(o->recipient) +
	    (in == NULL || reads_stdin(in)) > 1)
		return hv_err_set(e, HV_EUSAGE, "the key and the data cannot both come "
		    "from stdin");
	if ((r = load_key(&k, o, e)) < 0 || (r = hv_sandbox_seal(in, out, e)) < 0)
		goto out;
	if ((in_fd = open_in(in, e)) < 0) {
		r = in_fd;
		goto out;
	}
	if (out != NULL && strcmp(out, "-") != 0 && stat(out, &st) == 0 &&
	    !S_ISREG(st.st_mode)) {
		/* A device or a pipe is written to as it is, like stdout. */
		if ((dev_fd = open(out, O_WRONLY | O_CLOEXEC)) < 0) {
			r = hv_err_errno(e, HV_ECANTCREAT, errno, "cannot open '%s'", out);
			goto out;
		}
		out_fd = dev_fd;
	} else if (out != NULL && strcmp(out, "-") != 0) {
		if ((r = hv_atomic_begin(&a, out, 0600, e)) < 0)
			goto out;
		out_fd = a.fd;
	}
	if (o->open)
		r = hv_open_fd(k, ctx, strlen(ctx), in_fd, out_fd, e);
	else
		r = hv_seal_fd(k, ctx, strlen(ctx), in_fd, out_fd, e);
	if (r < 0 && in != NULL && strcmp(in, "-") != 0)
		hv_err_wrap(e, "'%s'", in);
	if (r == 0 && a.fd >= 0)
		r = hv_atomic_commit(&a, e);
out:
	hv_atomic_abort(&a);
	if (in_fd > STDIN_FILENO)
		close(in_fd);
	if (dev_fd >= 0)
		close(dev_fd);
	hv_seal_key_free(k);
	return r;
}

/* A key file is created, never replaced; on stdout the caller redirects. */
static int
run_keygen(int public, const char *path, struct hv_err *e)
{
	struct hv_buf text, recipient = HV_BUF_INIT(HV_KEY_TEXT_MAX + 1);
	int r;

	hv_buf_init_secret(&text, HV_KEY_TEXT_MAX + 2);
	if ((r = hv_sandbox_seal(NULL, path, e)) < 0)
		return r;
	r = hv_key_generate(public ? HV_KEY_IDENTITY : HV_KEY_SYMMETRIC, &text,
	    &recipient, e);
	if (r == 0 && path != NULL && strcmp(path, "-") != 0)
		r = hv_file_create_excl(path, text.data, text.len, 0600, e);
	else if (r == 0 && hv_write_all(STDOUT_FILENO, text.data, text.len) < 0)
		r = hv_err_errno(e, HV_EIO, errno, "cannot write the key");
	if (r == 0 && public)
		fprintf(stderr, "recipient: %s\n", recipient.data);
	hv_buf_release(&text);
	hv_buf_release(&recipient);
	return r;
}

/* -y: the recipient of an identity, to stdout, as age-keygen -y. */
static int
run_recipient(const char *identity, struct hv_err *e)
{
	struct hv_buf text = HV_BUF_INIT(HV_KEY_TEXT_MAX + 1);
	int r;

	if ((r = hv_key_identity_recipient(identity, &text, e)) == 0)
		puts(text.data);
	hv_buf_release(&text);
	return r;
}

static const char *
mode_name(enum hv_seal_mode m)
{
	return m == HV_SEAL_RECIPIENT ? "recipient" : "symmetric";
}

static int
run_inspect(const char *in, struct hv_err *e)
{
	uint8_t hdr[HV_SEAL_HDR_MAX];
	struct hv_seal_header h;
	struct hv_json *j;
	struct hv_buf line = HV_BUF_INIT(4096);
	struct stat st;
	char id[2 * HV_SEAL_ID_LEN + 1];
	ssize_t n;
	int fd, r, i;

	if ((r = hv_sandbox_seal(in, NULL, e)) < 0)
		return r;
	if ((fd = open_in(in, e)) < 0)
		return fd;
	n = hv_read_full(fd, hdr, sizeof hdr);
	if (n < 0) {
		r = hv_err_errno(e, HV_EIO, errno, "cannot read '%s'", in ? in : "-");
		goto out;
	}
	if ((r = hv_seal_header_parse(&h, hdr, (size_t)n, e)) < 0) {
		hv_err_wrap(e, "'%s'", in ? in : "-");
		goto out;
	}
	for (i = 0; i < HV_SEAL_ID_LEN; i++)
		snprintf(id + 2 * i, 3, "%02x", h.key_id[i]);
	j = hv_json_object();
	hv_json_set_int(j, "version", h.version);
	hv_json_set_str(j, "mode", mode_name(h.mode));
	hv_json_set_str(j, "key_id", id);
	hv_json_set_int(j, "segment", 1LL << h.log2_segment);
	hv_json_set_int(j, "header", (long long)h.len);
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		hv_json_set_int(j, "size", (long long)st.st_size);
	hv_json_dump(j, &line);
	hv_json_free(j);
	puts(line.data);
	hv_buf_release(&line);
out:
	if (fd > STDIN_FILENO)
		close(fd);
	return r;
}

/* Why the options and operands do not fit the command, or NULL. */
static const char *
args_bad(const char *cmd, int argc, const struct opts *o)
{
	if (o->of_identity != NULL)
		return cmd != NULL || argc > 0 || o->open || o->keyfile || o->identity ||
		    o->recipient || o->context || o->public ? "-y takes an identity and "
		    "nothing else" : NULL;
	if (cmd == NULL)
		return argc > 2 ? "at most an input and an output" :
		    o->public ? "-p is for keygen" :
		    !!o->keyfile + !!o->identity + !!o->recipient > 1 ?
		    "one of -k, -i and -r" :
		    o->open && o->recipient ? "-r seals; -d opens with -i" :
		    !o->open && o->identity ? "-i opens (with -d); -r seals" : NULL;
	if (argc > 1)
		return "at most one file";
	if (o->open || o->keyfile || o->identity || o->recipient || o->context)
		return "keygen and inspect take no -d, -k, -i, -r or -a";
	return cmd[0] == 'i' && o->public ? "-p is for keygen" : NULL;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { 0 };
	static const char *const cmds[] = { "keygen", "inspect", NULL };
	struct hv_err e = { 0 };
	const char *cmd = NULL, *why;
	int c, r;

	hv_init(argv[0]);
	/* Permuting: options before or after the command (cli.h). */
	while ((c = getopt_long(argc, argv, "a:c:dhi:k:pqr:vVy:", longopts, NULL)) != -1) {
		switch (c) {
		case 'a': o.context = optarg; break;
		case 'c': o.config = optarg; break;
		case 'd': o.open = 1; break;
		case 'h': return hv_usage(usage_text, 0);
		case 'i': o.identity = optarg; break;
		case 'k': o.keyfile = optarg; break;
		case 'p': o.public = 1; break;
		case 'q': hv_verbosity--; break;
		case 'r': o.recipient = optarg; break;
		case 'v': hv_verbosity++; break;
		case 'V': puts("hv-seal " HV_VERSION); return 0;
		case 'y': o.of_identity = optarg; break;
		default: return hv_usage(usage_text, 64);
		}
	}
	argc -= optind;
	argv += optind;
	/* A bare run's operands are files, unless the first is a mistyped command. */
	if ((r = hv_cli_command(cmds, argc > 0 ? argv[0] : NULL, HV_CLI_BARE | HV_CLI_FILES,
	    &e)) == HV_EUSAGE)
		return hv_usage_error(usage_text, "%s", e.msg);
	if (r >= 0) {
		cmd = argv[0];
		argc--;
		argv++;
	}
	if ((why = args_bad(cmd, argc, &o)) != NULL)
		return hv_usage_error(usage_text, "%s", why);
	if (o.of_identity != NULL)
		r = run_recipient(o.of_identity, &e);
	else if (cmd == NULL)
		r = run_stream(&o, argc > 0 ? argv[0] : NULL, argc > 1 ? argv[1] : NULL, &e);
	else if (cmd[0] == 'k')
		r = run_keygen(o.public, argc > 0 ? argv[0] : NULL, &e);
	else
		r = run_inspect(argc > 0 ? argv[0] : NULL, &e);
	if (r == HV_EUSAGE) {
		hv_report(r, &e);
		return 64;
	}
	return hv_stdout_close(hv_report(r, &e));
}
