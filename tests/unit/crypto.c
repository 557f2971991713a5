/* crypto: known answers from the RFCs, and the refusals. */
#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "hex.h"
#include "tap.h"

static void
test_hashes(void)
{
	uint8_t out[64], ikm[22], salt[13], info[10];
	size_t i;

	hv_sha256(out, "abc", 3);
	ok(eq_hex(out, 32, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
	    "SHA-256 of abc (FIPS 180-2)");
	hv_hmac_sha256(out, "Jefe", 4, "what do ya want for nothing?", 28);
	ok(eq_hex(out, 32, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
	    "HMAC-SHA-256 (RFC 4231 case 2)");
	memset(ikm, 0x0b, sizeof ikm);
	for (i = 0; i < sizeof salt; i++)
		salt[i] = (uint8_t)i;
	for (i = 0; i < sizeof info; i++)
		info[i] = (uint8_t)(0xf0 + i);
	is_int(hv_hkdf_sha256(out, 42, ikm, 22, salt, 13, info, 10, NULL), 0, "HKDF runs");
	ok(eq_hex(out, 42, "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56"
	    "ecc4c5bf34007208d5b887185865"), "HKDF-SHA-256 (RFC 5869 case 1)");
	is_int(hv_hkdf_sha256(out, 42, ikm, 22, NULL, 0, NULL, 0, NULL), 0, "HKDF without salt and info");
	ok(eq_hex(out, 42, "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f"
	    "3c738d2d9d201395faa4b61a96c8"), "HKDF-SHA-256 (RFC 5869 case 3)");
}

static void
test_gcm(void)
{
	uint8_t key[32] = { 0 }, nonce[12] = { 0 }, pt[16] = { 0 }, ct[16], tag[16], back[16];
	struct hv_aead *s, *o;

	is_int(hv_aead_new(&s, key, 1, NULL), 0, "GCM sealer");
	is_int(hv_aead_new(&o, key, 0, NULL), 0, "GCM opener");
	hv_aead_seal(s, nonce, NULL, 0, pt, 0, ct, tag);
	ok(eq_hex(tag, 16, "530f8afbc74536b9a963b4f1c4cb738b"), "AES-256-GCM empty (GCM spec case 13)");
	hv_aead_seal(s, nonce, NULL, 0, pt, 16, ct, tag);
	ok(eq_hex(ct, 16, "cea7403d4d606b6e074ec5d3baf39d18") &&
	    eq_hex(tag, 16, "d0d1c8a799996bf0265b98b5d48ab919"), "AES-256-GCM (GCM spec case 14)");
	is_int(hv_aead_open(o, nonce, NULL, 0, ct, 16, tag, back), 0, "opens its own output");
	ok(memcmp(back, pt, 16) == 0, "round trip");
	ct[3] ^= 1;
	is_int(hv_aead_open(o, nonce, NULL, 0, ct, 16, tag, back), HV_EDATA, "a flipped bit fails");
	ok(memcmp(back, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16) == 0,
	    "failed open leaves no plaintext");
	ct[3] ^= 1;
	is_int(hv_aead_open(o, nonce, "x", 1, ct, 16, tag, back), HV_EDATA, "other AAD fails");
	nonce[11] = 1;
	is_int(hv_aead_open(o, nonce, NULL, 0, ct, 16, tag, back), HV_EDATA, "other nonce fails");
	hv_aead_free(s);
	hv_aead_free(o);
	hv_aead_free(NULL);
}

static void
test_x25519(void)
{
	uint8_t a[32], b[32], pub[32], shared[32], zero[32] = { 0 }, p2[32], p3[32];

	unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", a, 32);
	unhex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb", b, 32);
	hv_x25519_public(pub, a, NULL);
	ok(eq_hex(pub, 32, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"),
	    "X25519 public key (RFC 7748 6.1)");
	hv_x25519_public(pub, b, NULL);
	is_int(hv_x25519(shared, a, pub, NULL), 0, "X25519 agreement");
	ok(eq_hex(shared, 32, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"),
	    "X25519 shared secret (RFC 7748 6.1)");
	is_int(hv_x25519(shared, a, zero, NULL), HV_EDATA, "a low-order peer key is refused");
	hv_x25519_keygen(p2, pub, NULL);
	hv_x25519_keygen(p3, shared, NULL);
	ok(memcmp(p2, p3, 32) != 0, "two fresh keys differ");
}

static void
test_b64url(void)
{
	static const struct { const char *in, *out; } enc[] = {
		{ "", "" }, { "f", "Zg" }, { "fo", "Zm8" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg" }, { "\xfb\xff", "-_8" },
	};
	static const char *const bad[] = { "Zg=", "Z", "Zh", "Z+", "Zm9v\n", "Zm 9v" };
	struct hv_buf b = HV_BUF_INIT(64);
	uint8_t out[16];
	size_t i, n;

	for (i = 0; i < sizeof enc / sizeof enc[0]; i++) {
		hv_buf_reset(&b);
		hv_b64url_encode(&b, enc[i].in, strlen(enc[i].in));
		is_str(b.data ? b.data : "", enc[i].out, "base64url encoding %zu", i);
		ok(hv_b64url_decode(enc[i].out, strlen(enc[i].out), out, sizeof out, &n) == 0 &&
		    n == strlen(enc[i].in) && memcmp(out, enc[i].in, n) == 0,
		    "base64url '%s' decodes back", enc[i].out);
	}
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		is_int(hv_b64url_decode(bad[i], strlen(bad[i]), out, sizeof out, &n), HV_EDATA,
		    "base64url refuses bad input %zu", i);
	is_int(hv_b64url_decode("Zm9vYg", 6, out, 3, &n), HV_EDATA, "decoding past outmax is refused");
	hv_buf_release(&b);
}

int
main(void)
{
	uint8_t r1[32], r2[32];

	test_hashes();
	test_gcm();
	test_x25519();
	test_b64url();
	hv_random(r1, 32, NULL);
	hv_random(r2, 32, NULL);
	ok(memcmp(r1, r2, 32) != 0, "random bytes differ");
	return tap_done();
}
