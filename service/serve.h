/* serve.h: `sysgi serve` (serve.c). */
#ifndef SYSGI_SERVE_H
#define SYSGI_SERVE_H

#include <wchar.h>

#define SYSGI_SERVE_USAGE                                                     \
  "sysgi serve APP.py [--port N] [--threads N] [--python-home DIR] "         \
  "[--mount /PATH] [--enable-sendfile] [--error-log FILE] [--debug] "         \
  "[--config PATH] [--KEY VALUE | --KEY=VALUE | --BOOLEAN-KEY]..."

/* argv: the arguments after "serve". Returns the process exit code. */
int sysgi_serve(int argc, wchar_t **argv);

#endif
