/*
 * The known answers of hv-seal(5): tests/vectors/seal-v1.txt, made by an
 * independent implementation of the format.  Each vector is sealed here
 * with the same fixed randomness and must come out byte for byte, and must
 * open back to its plaintext.
 */
#define VEC_MAX (1 << 20)

struct vector {
	char name[64], mode[16];
	uint8_t key[32], salt[32], file_key[32], eph[32], ctx[1024];
	long ctxlen;
	uint8_t *plain, *sealed;
	long plainlen, sealedlen;
	uint8_t sealed_sha[32];
	int have_sha;
};

static long
vec_hex(const char *v, uint8_t *out, size_t max)
{
	return *v == '\0' ? 0 : unhex(v, out, max);
}

static int
vec_field(struct vector *t, const char *k, const char *v)
{
	long i;

	if (strcmp(k, "name") == 0)
		snprintf(t->name, sizeof t->name, "%s", v);
	else if (strcmp(k, "mode") == 0)
		snprintf(t->mode, sizeof t->mode, "%s", v);
	else if (strcmp(k, "key") == 0)
		return vec_hex(v, t->key, 32) == 32 ? 0 : -1;
	else if (strcmp(k, "salt") == 0)
		return vec_hex(v, t->salt, 32) == 32 ? 0 : -1;
	else if (strcmp(k, "file_key") == 0)
		return vec_hex(v, t->file_key, 32) == 32 ? 0 : -1;
	else if (strcmp(k, "ephemeral") == 0)
		return vec_hex(v, t->eph, 32) == 32 ? 0 : -1;
	else if (strcmp(k, "context") == 0)
		return (t->ctxlen = vec_hex(v, t->ctx, sizeof t->ctx)) < 0 ? -1 : 0;
	else if (strcmp(k, "plaintext") == 0) {
		t->plain = malloc(strlen(v) / 2 + 1);
		return (t->plainlen = vec_hex(v, t->plain, strlen(v) / 2)) < 0 ? -1 : 0;
	} else if (strcmp(k, "plaintext_pattern") == 0) {
		t->plainlen = strtol(v, NULL, 10);
		if (t->plainlen < 0 || t->plainlen > VEC_MAX)
			return -1;
		t->plain = malloc((size_t)t->plainlen + 1);
		for (i = 0; i < t->plainlen; i++)
			t->plain[i] = (uint8_t)(i % 251);
	} else if (strcmp(k, "sealed") == 0) {
		t->sealed = malloc(strlen(v) / 2 + 1);
		return (t->sealedlen = vec_hex(v, t->sealed, strlen(v) / 2)) < 0 ? -1 : 0;
	} else if (strcmp(k, "sealed_len") == 0)
		t->sealedlen = strtol(v, NULL, 10);
	else if (strcmp(k, "sealed_sha256") == 0)
		return (t->have_sha = vec_hex(v, t->sealed_sha, 32) == 32) ? 0 : -1;
	else
		return -1;
	return 0;
}

static void
vec_check(struct vector *t)
{
	struct hv_seal_key *k = NULL, *r = NULL;
	struct hv_seal_fixed fx;
	struct hv_sealer *s = NULL;
	struct hv_buf out = HV_BUF_INIT(VEC_MAX * 2), back = HV_BUF_INIT(VEC_MAX);
	uint8_t hdr[HV_SEAL_HDR_MAX], sha[32];
	size_t hdrlen, off = 0, len, seg;
	int recipient = strcmp(t->mode, "recipient") == 0, fail = 0;

	memcpy(fx.salt, t->salt, 32);
	memcpy(fx.file_key, t->file_key, 32);
	memcpy(fx.ephemeral, t->eph, 32);
	if (recipient) {
		hv_seal_key_identity(&k, t->key, NULL);
		hv_seal_key_recipient(&r, k->pub, NULL);
	} else {
		hv_seal_key_symmetric(&k, t->key, NULL);
	}
	fail |= hv_sealer_new(&s, recipient ? r : k, t->ctx, (size_t)t->ctxlen, &fx, hdr,
	    &hdrlen, NULL) < 0;
	hv_buf_add(&out, hdr, hdrlen);
	seg = s ? hv_sealer_segment_size(s) : 1;
	do {
		len = (size_t)t->plainlen - off < seg ? (size_t)t->plainlen - off : seg;
		hv_buf_grow(&out, len + 16);
		fail |= s == NULL || hv_sealer_segment(s, t->plain + off, len,
		    off + len == (size_t)t->plainlen, (uint8_t *)out.data + out.len, NULL) < 0;
		out.len += len + 16;
		off += len;
	} while (off < (size_t)t->plainlen);
	hv_sha256(sha, out.data, out.len);
	if (t->have_sha)
		ok(!fail && (long)out.len == t->sealedlen && memcmp(sha, t->sealed_sha, 32) == 0,
		    "vector %s: sealed length and SHA-256 match", t->name);
	else
		ok(!fail && (long)out.len == t->sealedlen && memcmp(out.data, t->sealed, out.len) == 0,
		    "vector %s: sealed bytes match", t->name);
	ok(hv_open_mem(k, t->ctx, (size_t)t->ctxlen, out.data, out.len, &back, NULL) == 0 &&
	    (long)back.len == t->plainlen && memcmp(back.data ? back.data : "", t->plain,
	    back.len) == 0, "vector %s: opens to its plaintext", t->name);
	hv_sealer_free(s);
	hv_seal_key_free(k);
	hv_seal_key_free(r);
	hv_buf_release(&out);
	hv_buf_release(&back);
}

static void
test_vectors(void)
{
	const char *top = getenv("HV_TOP");
	char path[4096], *line = NULL, *eq;
	size_t cap = 0;
	ssize_t n;
	struct vector t;
	int count = 0, in = 0;
	FILE *f;

	snprintf(path, sizeof path, "%s/tests/vectors/seal-v1.txt", top ? top : ".");
	if (!ok((f = fopen(path, "r")) != NULL, "the vector file %s is there", path))
		return;
	memset(&t, 0, sizeof t);
	for (;;) {
		n = getline(&line, &cap, f);
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if ((n <= 0) && in) {
			vec_check(&t);
			count++;
			free(t.plain);
			free(t.sealed);
			memset(&t, 0, sizeof t);
			in = 0;
		}
		if (n < 0)
			break;
		if (n == 0 || line[0] == '#')
			continue;
		if ((eq = strstr(line, " = ")) == NULL && (eq = strstr(line, " =")) == NULL) {
			ok(0, "vector line '%.40s' is 'name = value'", line);
			continue;
		}
		*eq = '\0';
		eq += eq[2] == ' ' ? 3 : 2;
		if (vec_field(&t, line, eq) < 0)
			ok(0, "vector field '%s' is valid", line);
		in = 1;
	}
	free(line);
	fclose(f);
	ok(count >= 6, "%d vectors checked", count);
}
