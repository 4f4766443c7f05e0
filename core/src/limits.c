/*
 * limits.c: the request limits of issue 14 (limit-request-body,
 * limit-request-fields, limit-request-field-size, limit-request-line),
 * checked once in the core so that sysgi.exe and mod_sysgi answer alike.
 * The check runs on the CGI variables the front end built, before environ
 * exists and before the application's script is looked up: a refused
 * request costs no Python. Sizes are those of the header as the
 * application would see it ("Name: value"); a front end that folds repeated
 * headers into one variable (http.sys, Apache) has the folded value
 * measured, which is what the application would have to hold.
 */
#include "sysgi_internal.h"

#include <string.h>

/* CONTENT_LENGTH as a number, or -1 when absent or malformed (the body is
 * then read until its end, and limit_request_body applies as it grows). */
static int64_t declared_length(const sysgi_request *r) {
  for (size_t i = 0; i < r->n_vars; i++) {
    const char *nm = r->vars[i].name, *v = r->vars[i].value;
    if (!nm || !v || strcmp(nm, "CONTENT_LENGTH") != 0)
      continue;
    int64_t x = 0;
    const char *p = v;
    for (; *p >= '0' && *p <= '9'; p++) {
      if (x > (INT64_MAX - 9) / 10)
        return INT64_MAX; /* absurd: certainly over any limit */
      x = x * 10 + (*p - '0');
    }
    return p != v && *p == '\0' ? x : -1;
  }
  return -1;
}

static const char *var(const sysgi_request *r, const char *name) {
  for (size_t i = 0; i < r->n_vars; i++)
    if (r->vars[i].name && strcmp(r->vars[i].name, name) == 0)
      return r->vars[i].value ? r->vars[i].value : "";
  return "";
}

int sysgi__limits_check(const sysgi_request *r) {
  if (r->limit_request_line) {
    size_t n = strlen(var(r, "REQUEST_METHOD")) + 1 +
               strlen(var(r, "REQUEST_URI")) + 1 +
               strlen(var(r, "SERVER_PROTOCOL"));
    if (n > r->limit_request_line) {
      sysgi_log_nogil(r, SYSGI_LOG_INFO, "sysgi: request line of %zu bytes "
                      "is longer than limit-request-line %u: 414",
                      n, r->limit_request_line);
      return 414;
    }
  }
  if (r->limit_request_fields || r->limit_request_field_size) {
    size_t fields = 0;
    for (size_t i = 0; i < r->n_vars; i++) {
      const char *nm = r->vars[i].name, *v = r->vars[i].value;
      if (!nm)
        continue;
      size_t skip;
      if (strncmp(nm, "HTTP_", 5) == 0)
        skip = 5;
      else if (!strcmp(nm, "CONTENT_TYPE") || !strcmp(nm, "CONTENT_LENGTH"))
        skip = 0;
      else
        continue;
      fields++;
      size_t sz = strlen(nm) - skip + 2 + (v ? strlen(v) : 0);
      if (r->limit_request_field_size && sz > r->limit_request_field_size) {
        sysgi_log_nogil(r, SYSGI_LOG_INFO, "sysgi: request header %s of "
                        "%zu bytes is larger than limit-request-field-size "
                        "%u: 431", nm + skip, sz, r->limit_request_field_size);
        return 431;
      }
    }
    if (r->limit_request_fields && fields > r->limit_request_fields) {
      sysgi_log_nogil(r, SYSGI_LOG_INFO, "sysgi: %zu request header fields "
                      "are more than limit-request-fields %u: 431", fields,
                      r->limit_request_fields);
      return 431;
    }
  }
  if (r->limit_request_body > 0) {
    int64_t cl = declared_length(r);
    if (cl > r->limit_request_body) {
      sysgi_log_nogil(r, SYSGI_LOG_INFO, "sysgi: request body of %lld bytes "
                      "(Content-Length) is larger than limit-request-body "
                      "%lld: 413", (long long)cl,
                      (long long)r->limit_request_body);
      return 413;
    }
  }
  return 0;
}

#define PAGE(title, text)                                                    \
  "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n"   \
  "<title>" title "</title>\n</head><body>\n<h1>" title "</h1>\n<p>" text  \
  "</p>\n</body></html>\n"

const char *sysgi__status_page(int status, const char **status_line) {
  switch (status) {
  case 413:
    *status_line = "413 Request Entity Too Large";
    return PAGE("Request Entity Too Large", "The request body is larger "
                "than this server accepts.");
  case 414:
    *status_line = "414 Request-URI Too Long";
    return PAGE("Request-URI Too Long", "The request line is longer than "
                "this server accepts.");
  case 431:
    *status_line = "431 Request Header Fields Too Large";
    return PAGE("Request Header Fields Too Large", "The request has more or "
                "larger header fields than this server accepts.");
  case 504:
    *status_line = "504 Gateway Timeout";
    return PAGE("Gateway Timeout", "The application did not answer within "
                "the server's\nrequest timeout.");
  default:
    *status_line = "500 Internal Server Error";
    return PAGE("Internal Server Error", "The server encountered an "
                "internal error or\nmisconfiguration and was unable to "
                "complete\nyour request.");
  }
}
