/* The one mount matcher and the application-group macros. */
#include "ctest.h"

CTEST(mount_match) {
  const char *m[] = {"", "/app", "/app/api", "/App2/", "/x/"};
  size_t len = 99;
  CHECK_EQ(sysgi_mount_match(m, 5, "/app/api/v1", 0, &len), 2);
  CHECK_EQ(len, 8);
  CHECK_EQ(sysgi_mount_match(m, 5, "/app/api", 0, &len), 2);
  CHECK_EQ(sysgi_mount_match(m, 5, "/app/apix", 0, &len), 1);
  CHECK_EQ(len, 4);
  CHECK_EQ(sysgi_mount_match(m, 5, "/app", 0, &len), 1);
  CHECK_EQ(sysgi_mount_match(m, 5, "/app/", 0, &len), 1);
  CHECK_EQ(sysgi_mount_match(m, 5, "/apple", 0, &len), 0); /* '/' boundary */
  CHECK_EQ(len, 0);
  CHECK_EQ(sysgi_mount_match(m, 5, "/", 0, &len), 0);
  CHECK_EQ(sysgi_mount_match(m, 5, "", 0, &len), 0);
  /* written with a trailing '/': matched as "/App2" and "/x" */
  CHECK_EQ(sysgi_mount_match(m, 5, "/App2", 0, &len), 3);
  CHECK_EQ(len, 5);
  CHECK_EQ(sysgi_mount_match(m, 5, "/x/y", 0, &len), 4);
  CHECK_EQ(len, 2);
  /* case */
  CHECK_EQ(sysgi_mount_match(m, 5, "/APP/API/v1", 0, &len), 0);
  CHECK_EQ(sysgi_mount_match(m, 5, "/APP/API/v1", 1, &len), 2);
  CHECK_EQ(sysgi_mount_match(m, 5, "/app2/z", 1, &len), 3);
  /* order does not matter: longest wins; ties go to the first */
  const char *r[] = {"/app/api", "/app", ""};
  CHECK_EQ(sysgi_mount_match(r, 3, "/app/api/v1", 0, NULL), 0);
  CHECK_EQ(sysgi_mount_match(r, 3, "/app/x", 0, NULL), 1);
  const char *tie[] = {"/A", "/a"};
  CHECK_EQ(sysgi_mount_match(tie, 2, "/a", 1, NULL), 0);
  CHECK_EQ(sysgi_mount_match(tie, 2, "/a", 0, NULL), 1);
  /* no root: no match */
  const char *nr[] = {"/app", NULL};
  CHECK_EQ(sysgi_mount_match(nr, 2, "/other", 0, &len), -1);
  CHECK_EQ(sysgi_mount_match(nr, 2, NULL, 0, &len), -1);
  CHECK_EQ(sysgi_mount_match(NULL, 0, "/", 0, &len), -1);
  char a[] = "/app//", b[] = "/", c[] = "app";
  CHECK_EQ(sysgi_mount_normalize(a), 0);
  CHECK_STR(a, "/app");
  CHECK_EQ(sysgi_mount_normalize(b), 0);
  CHECK_STR(b, "");
  CHECK_EQ(sysgi_mount_normalize(c), SYSGI_E_CONFIG);
}

static const char *env_of(void *ctx, const char *name) {
  (void)ctx;
  if (!strcmp(name, "SITE"))
    return "site-a";
  return NULL;
}

CTEST(expand_group) {
  char out[64];
  CHECK_EQ(sysgi_expand_group("%{GLOBAL}", "h", "8080", "/x", NULL, NULL, out,
                              sizeof out), 0);
  CHECK_STR(out, "");
  CHECK_EQ(sysgi_expand_group("%{SERVER}", "www.example.com", "8080", "/x",
                              NULL, NULL, out, sizeof out), 0);
  CHECK_STR(out, "www.example.com:8080");
  CHECK_EQ(sysgi_expand_group("%{SERVER}", "www.example.com", "", "/x", NULL,
                              NULL, out, sizeof out), 0);
  CHECK_STR(out, "www.example.com");
  CHECK_EQ(sysgi_expand_group("%{RESOURCE}", "h", "8080", "/blog", NULL, NULL,
                              out, sizeof out), 0);
  CHECK_STR(out, "h:8080|/blog");
  CHECK_EQ(sysgi_expand_group(NULL, "h", NULL, "", NULL, NULL, out,
                              sizeof out), 0);
  CHECK_STR(out, "h|");
  CHECK_EQ(sysgi_expand_group("%{ENV:SITE}", "h", "1", "/", env_of, NULL, out,
                              sizeof out), 0);
  CHECK_STR(out, "site-a");
  CHECK_EQ(sysgi_expand_group("%{ENV:NONE}", "h", "1", "/", env_of, NULL, out,
                              sizeof out), 0);
  CHECK_STR(out, "");
  CHECK_EQ(sysgi_expand_group("%{ENV:SITE}", "h", "1", "/", NULL, NULL, out,
                              sizeof out), 0);
  CHECK_STR(out, "");
  CHECK_EQ(sysgi_expand_group("literal", "h", "1", "/", NULL, NULL, out,
                              sizeof out), 0);
  CHECK_STR(out, "literal");
  strcpy(out, "junk");
  CHECK_EQ(sysgi_expand_group("%{HOST}", "h", "1", "/", NULL, NULL, out,
                              sizeof out), SYSGI_E_INVAL);
  CHECK_STR(out, "");
  char small[8];
  CHECK_EQ(sysgi_expand_group("%{RESOURCE}", "host", "8080", "/x", NULL, NULL,
                              small, sizeof small), SYSGI_E_TOO_LARGE);
  CHECK_STR(small, "");
  CHECK_EQ(sysgi_expand_group("1234567", "h", "1", "/", NULL, NULL, small,
                              sizeof small), 0);
  CHECK_STR(small, "1234567");
  CHECK_EQ(sysgi_expand_group("12345678", "h", "1", "/", NULL, NULL, small,
                              sizeof small), SYSGI_E_TOO_LARGE);
  CHECK_EQ(sysgi_expand_group("x", "h", "1", "/", NULL, NULL, small, 0),
           SYSGI_E_TOO_LARGE);
}
