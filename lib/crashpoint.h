/*
 * crashpoint: a test-only knob that kills the process after its N-th
 * durable step, so a test can crash a tool at every step and check that
 * the rerun loses and duplicates nothing.
 *
 * With HV_TEST_CRASH_AT=N in the environment, the N-th call of
 * hv_crashpoint() in the process sends it SIGKILL: no cleanup, no flush,
 * as a power cut would.  Unset, it costs one getenv on the first call.
 */
#ifndef HV_CRASHPOINT_H
#define HV_CRASHPOINT_H

/* A durable step just completed. */
void hv_crashpoint(void);

#endif
