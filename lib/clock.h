/*
 * clock: the time every tool reads.
 *
 * Real time, moved by HV_TEST_CLOCK_OFFSET seconds when that is set, so
 * tests can step past token expiry or a spool TTL without waiting.  It
 * only ever shifts the clock; it carries nothing secret.
 */
#ifndef HV_CLOCK_H
#define HV_CLOCK_H

/* Seconds since the epoch. */
long long hv_now(void);

/* Microseconds since the epoch. */
long long hv_now_us(void);

#endif
