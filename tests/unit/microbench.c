/*
 * microbench.c: requests per second of the core alone (fake front end, no
 * network): `sysgi_core_microbench [N] [group]`. Not a test: a tool to see
 * what a change costs. Front-end-free numbers are an upper bound.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fake_frontend.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 100000;
  const char *group = argc > 2 ? argv[2] : "";
  char path[] = "/tmp/sysgi-bench-XXXXXX.py";
  int fd = mkstemps(path, 3);
  FILE *f = fdopen(fd, "w");
  fputs("def application(environ, start_response):\n"
        "    start_response('200 OK', [('Content-Type', 'text/plain'),\n"
        "                              ('Content-Length', '12')])\n"
        "    return [b'Hello world!']\n", f);
  fclose(f);
  sysgi_runtime_config cfg = {.multithread = 1};
  if (sysgi_runtime_init(&cfg) != 0)
    return 1;
  static fake_conn c;
  double t0 = 0;
  for (int i = 0; i < n + 1000; i++) {
    if (i == 1000)
      t0 = now(); /* after warm-up */
    fake_init(&c, "GET", "/", path);
    c.req.application_group = group;
    fake_var(&c, "HTTP_USER_AGENT", "bench/1");
    fake_var(&c, "HTTP_ACCEPT", "*/*");
    if (fake_run(&c) != 0 || c.status != 200)
      return 1;
    fake_free(&c);
  }
  double dt = now() - t0;
  printf("%d requests in %.3f s: %.0f req/s, %.2f us/request\n", n, dt, n / dt,
         dt / n * 1e6);
  sysgi_runtime_shutdown();
  remove(path);
  return 0;
}
