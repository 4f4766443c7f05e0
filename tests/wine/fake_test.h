/*
 * fake_test.h: what the scenario files of fake_test.exe share (fake_main.c:
 * the base scenarios and the helpers; fake_races.c: the race, shutdown and
 * mod_wsgi-parity scenarios).
 */
#ifndef FAKE_TEST_H
#define FAKE_TEST_H

#include <winsock2.h>
#include <windows.h>

#include <stdint.h>
#include <stdio.h>

#include "fake_httpapi.h"
#include "sysgi_httpsys.h"

#define WAIT_MS 120000

extern volatile LONG fake_core_tokens_out, fake_core_double_completions;
extern volatile LONG fake_core_late_completions, fake_core_early_returns;
extern HANDLE fake_core_gate, fake_core_entered;
unsigned char fake_pattern(uint64_t i);

extern char why[4096];
extern volatile LONG short_body_warnings, receive_retry_logs;
/* Options of the next start_server(). */
extern int opt_pass_auth;
extern unsigned opt_shutdown_ms, opt_receives;

sysgi_httpsys *start_server(const char *mount, unsigned threads,
                            unsigned max_queued);
const fake_response *request(const char *method, const char *url,
                             const char *const *headers, size_t nh,
                             const void *body, size_t blen, int chunked);
const fake_response *get(const char *url);
int body_is_pattern(const fake_response *r, uint64_t from, size_t len);
void finish(const char *name);
void check_resp(const fake_response *r, int status);
/* FAKE_ONLY=group runs only that group (to show one failing on old code). */
int want(const char *group);
void run_races(void);

/* Records the first failure of a scenario. */
#define EXPECT(cond, ...)                                                    \
  do {                                                                       \
    if (!(cond) && !why[0])                                                  \
      snprintf(why, sizeof why, __VA_ARGS__);                                \
  } while (0)

#endif
