/*
 * fuzz-keys: key text (hvkey1, hvid1, hvpub1), decoded as each kind.
 *
 * Invariants: text decodes as at most one kind; a success encodes back to
 * exactly the text without its surrounding white space, and the same bytes
 * load as a seal key of that kind; a failure is HV_EDATA in one line and
 * leaves the output untouched.
 */
#include <ctype.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "keys.h"
#include "seal.h"
#include "fuzz.h"
#include "banned.h"

static const enum hv_key_kind kinds[] = {
	HV_KEY_SYMMETRIC, HV_KEY_IDENTITY, HV_KEY_RECIPIENT,
};

static void
trim(const char **text, size_t *len)
{
	while (*len > 0 && isspace((unsigned char)**text))
		(*text)++, (*len)--;
	while (*len > 0 && isspace((unsigned char)(*text)[*len - 1]))
		(*len)--;
}

static void
check_seal_key(enum hv_key_kind kind, const uint8_t key[HV_KEY_LEN])
{
	struct hv_seal_key *k = NULL;
	struct hv_err e = { 0 };

	if (kind == HV_KEY_SYMMETRIC)
		CHECK(hv_seal_key_symmetric(&k, key, &e) == 0);
	else if (kind == HV_KEY_IDENTITY)
		CHECK(hv_seal_key_identity(&k, key, &e) == 0);
	else
		CHECK(hv_seal_key_recipient(&k, key, &e) == 0);
	CHECK(k != NULL && k->has_secret == (kind != HV_KEY_RECIPIENT));
	hv_seal_key_free(k);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data, *t = text;
	struct hv_buf b = HV_BUF_INIT(HV_KEY_TEXT_MAX);
	struct hv_err e = { 0 };
	uint8_t key[HV_KEY_LEN], untouched[HV_KEY_LEN];
	size_t i, tlen = size;
	int ok = 0;

	trim(&t, &tlen);
	memset(untouched, 0xa5, sizeof untouched);
	for (i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		memcpy(key, untouched, sizeof key);
		if (hv_key_decode(text, size, kinds[i], key, &e) < 0) {
			CHECK(e.code == HV_EDATA && one_line(e.msg));
			CHECK(memcmp(key, untouched, sizeof key) == 0);
			continue;
		}
		ok++;
		hv_buf_reset(&b);
		CHECK(hv_key_encode(&b, kinds[i], key) == 0);
		CHECK(b.len == tlen && memcmp(b.data, t, tlen) == 0);
		check_seal_key(kinds[i], key);
	}
	CHECK(ok <= 1);
	hv_buf_release(&b);
	return 0;
}
