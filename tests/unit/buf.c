/* buf: growth, the cap, formatting, detach, secret wiping. */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "tap.h"

int
main(void)
{
	struct hv_buf b = HV_BUF_INIT(16);
	char *p;
	size_t n;

	ok(b.data == NULL && b.len == 0, "a new buffer holds nothing");
	is_int(hv_buf_adds(&b, "hello"), 0, "add within the cap");
	is_str(b.data, "hello", "content is a C string");
	is_int(hv_buf_addf(&b, " %d%s", 42, "!"), 0, "formatted add");
	is_str(b.data, "hello 42!", "formatted content");
	is_int(hv_buf_adds(&b, "1234567"), 0, "add up to exactly the cap");
	is_int(b.len, 16, "length is the cap");
	is_int(hv_buf_add(&b, "x", 1), HV_EDATA, "one byte past the cap is refused");
	is_int(b.len, 16, "a refused add appends nothing");
	is_int(hv_buf_addf(&b, "%s", "y"), HV_EDATA, "a formatted add past the cap is refused");
	is_int(hv_buf_grow(&b, (size_t)-1), HV_EDATA, "growth that would wrap is refused");
	hv_buf_reset(&b);
	ok(b.len == 0 && b.data[0] == '\0', "reset empties");
	hv_buf_adds(&b, "abc");
	p = hv_buf_detach(&b, &n);
	ok(n == 3 && strcmp(p, "abc") == 0 && b.data == NULL, "detach hands over the content");
	free(p);
	p = hv_buf_detach(&b, &n);
	ok(n == 0 && p[0] == '\0', "detach of an empty buffer gives an empty string");
	free(p);

	hv_buf_init_secret(&b, 1 << 20);
	for (n = 0; n < 1000; n++)
		hv_buf_add(&b, "0123456789", 10);
	is_int(b.len, 10000, "a secret buffer grows like any other");
	ok(memcmp(b.data + 9990, "0123456789", 10) == 0, "content survives secret growth");
	hv_buf_release(&b);
	ok(b.data == NULL && b.len == 0 && b.cap == 0, "release empties");
	hv_buf_release(&b);
	ok(1, "release twice is harmless");

	hv_buf_init(&b, 0);
	is_int(hv_buf_add(&b, "", 0), 0, "an empty add to a zero-cap buffer");
	is_int(hv_buf_add(&b, "a", 1), HV_EDATA, "a zero-cap buffer holds nothing");
	hv_buf_release(&b);
	return tap_done();
}
