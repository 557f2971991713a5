/* keys: key text, key files and their permissions, master key sources. */
#include <fcntl.h>
#include <linux/keyctl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "buf.h"
#include "crypto.h"
#include "keys.h"
#include "tap.h"

static char dir[] = "/tmp/hv-keys-test.XXXXXX";

static void
put(const char *name, const char *text, mode_t mode)
{
	char path[256];
	int fd;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd < 0 || write(fd, text, strlen(text)) < 0)
		perror(path);
	fchmod(fd, mode);
	close(fd);
}

static const char *
at(const char *name)
{
	static char path[256];

	snprintf(path, sizeof path, "%s/%s", dir, name);
	return path;
}

static void
test_text(void)
{
	uint8_t key[32], back[32];
	struct hv_buf b = HV_BUF_INIT(128);
	struct hv_err e = { 0 };
	char text[128];
	size_t i;

	for (i = 0; i < 32; i++)
		key[i] = (uint8_t)i;
	hv_key_encode(&b, HV_KEY_SYMMETRIC, key);
	ok(strncmp(b.data, "hvkey1", 6) == 0 && b.len == 6 + 48, "symmetric key text");
	snprintf(text, sizeof text, "  %s\n", b.data);
	ok(hv_key_decode(text, strlen(text), HV_KEY_SYMMETRIC, back, &e) == 0 &&
	    memcmp(back, key, 32) == 0, "decodes back, white space allowed");
	is_int(hv_key_decode(text, strlen(text), HV_KEY_IDENTITY, back, &e), HV_EDATA,
	    "a symmetric key is not an identity");
	is_str(e.msg, "a symmetric key where an identity was expected", "says which is which");
	memcpy(text, b.data, b.len + 1);
	text[10] = text[10] == 'A' ? 'B' : 'A';
	is_int(hv_key_decode(text, strlen(text), HV_KEY_SYMMETRIC, back, &e), HV_EDATA,
	    "a mistyped key is refused");
	is_str(e.msg, "a symmetric key with a bad checksum (mistyped or cut?)", "by its checksum");
	is_int(hv_key_decode(b.data, b.len - 4, HV_KEY_SYMMETRIC, back, &e), HV_EDATA,
	    "a cut key is refused");
	is_int(hv_key_decode("hello", 5, HV_KEY_SYMMETRIC, back, &e), HV_EDATA, "not a key");
	is_int(hv_key_decode("hvkey1!!!!", 10, HV_KEY_SYMMETRIC, back, &e), HV_EDATA,
	    "bad characters");
	hv_buf_reset(&b);
	hv_key_encode(&b, HV_KEY_RECIPIENT, key);
	ok(strncmp(b.data, "hvpub1", 6) == 0, "recipient text");
	hv_buf_release(&b);
}

static void
test_files(void)
{
	struct hv_buf text, rcp = HV_BUF_INIT(128);
	struct hv_seal_key *k = NULL, *r = NULL;
	struct hv_err e = { 0 };
	char fdpath[64];
	int pfd[2];

	hv_buf_init_secret(&text, 128);
	is_int(hv_key_generate(HV_KEY_IDENTITY, &text, &rcp, &e), 0, "generate an identity");
	put("id", text.data, 0600);
	is_int(hv_key_load(&k, at("id"), HV_KEY_IDENTITY, &e), 0, "load it from a 0600 file");
	is_int(hv_key_recipient(&r, rcp.data, &e), 0, "its recipient parses");
	ok(k && r && memcmp(k->pub, r->pub, 32) == 0 && memcmp(k->id, r->id, 8) == 0,
	    "identity and recipient match");
	hv_seal_key_free(k);
	hv_seal_key_free(r);
	{
		struct hv_buf again = HV_BUF_INIT(128);

		is_int(hv_key_identity_recipient(at("id"), &again, &e), 0,
		    "the recipient of an identity file (-y)");
		is_str(again.data, rcp.data, "is the one made with it");
		hv_buf_release(&again);
	}
	put("id", text.data, 0640);
	{
		struct hv_buf again = HV_BUF_INIT(128);

		is_int(hv_key_identity_recipient(at("id"), &again, &e), HV_EPERM,
		    "-y refuses an identity the group can read");
		hv_buf_release(&again);
	}
	is_int(hv_key_load(&k, at("id"), HV_KEY_IDENTITY, &e), HV_EPERM,
	    "a key file readable by the group is refused");
	ok(strstr(e.msg, "mode 0640") != NULL, "naming its mode");
	put("id", text.data, 0604);
	is_int(hv_key_load(&k, at("id"), HV_KEY_IDENTITY, &e), HV_EPERM,
	    "a key file readable by others is refused");
	is_int(hv_key_load(&k, at("missing"), HV_KEY_IDENTITY, &e), HV_ENOINPUT, "a missing file");
	put("junk", "hvkey1 but far far too long to be any key at all, really, honestly\n", 0600);
	is_int(hv_key_load(&k, at("junk"), HV_KEY_SYMMETRIC, &e), HV_EDATA, "an over-long file");

	/* A descriptor, as a script passes a key without a file. */
	ok(pipe(pfd) == 0 && write(pfd[1], text.data, text.len) == (ssize_t)text.len,
	    "a key written to a pipe");
	close(pfd[1]);
	snprintf(fdpath, sizeof fdpath, "/dev/fd/%d", pfd[0]);
	is_int(hv_key_load(&k, fdpath, HV_KEY_IDENTITY, &e), 0, "load from /dev/fd/N");
	hv_seal_key_free(k);
	close(pfd[0]);
	hv_buf_release(&text);
	hv_buf_release(&rcp);
}

static void
test_master(void)
{
	struct hv_buf text;
	struct hv_err e = { 0 };
	uint8_t m1[32], m2[32], d1[32], d2[32], d3[32];
	char src[512];
	long id;

	hv_buf_init_secret(&text, 128);
	hv_key_generate(HV_KEY_SYMMETRIC, &text, NULL, &e);
	put("master", text.data, 0600);
	is_int(hv_master_load(at("master"), m1, &e), 0, "master key from a file");
	snprintf(src, sizeof src, "command:cat '%s'", at("master"));
	is_int(hv_master_load(src, m2, &e), 0, "master key from a command");
	ok(memcmp(m1, m2, 32) == 0, "both sources give the same key");
	is_int(hv_master_load("command:exit 3", m2, &e), HV_ENOINPUT, "a failing command");
	is_str(e.msg, "master key: key command failed (status 3)", "says so");
	is_int(hv_master_load("command:echo nope", m2, &e), HV_EDATA, "a command printing junk");
	put("master", text.data, 0644);
	is_int(hv_master_load(at("master"), m2, &e), HV_EPERM, "a master key others can read");

	id = syscall(SYS_add_key, "user", "hv-test-master", text.data, text.len - 1,
	    KEY_SPEC_PROCESS_KEYRING);
	if (id < 0) {
		printf("ok %d # SKIP no kernel keyring here\n", ++tap_n);
	} else {
		is_int(hv_master_load("keyring:hv-test-master", m2, &e), 0,
		    "master key from the kernel keyring");
		ok(memcmp(m1, m2, 32) == 0, "keyring gives the same key");
		syscall(SYS_keyctl, KEYCTL_INVALIDATE, id);
	}
	is_int(hv_master_load("keyring:hv-no-such-key", m2, &e), HV_ENOINPUT, "a missing keyring key");

	hv_key_derive(d1, m1, "tokens", &e);
	hv_key_derive(d2, m1, "tokens", &e);
	hv_key_derive(d3, m1, "index", &e);
	ok(memcmp(d1, d2, 32) == 0 && memcmp(d1, d3, 32) != 0 && memcmp(d1, m1, 32) != 0,
	    "derivation is deterministic, distinct per purpose, never the master");
	hv_buf_release(&text);
}

int
main(void)
{
	if (mkdtemp(dir) == NULL)
		return 1;
	test_text();
	test_files();
	test_master();
	unlink(at("id"));
	unlink(at("junk"));
	unlink(at("master"));
	rmdir(dir);
	return tap_done();
}
