/*
 * urlacl.c: HttpSetServiceConfiguration, HttpDeleteServiceConfiguration and
 * HttpQueryServiceConfiguration for HttpServiceConfigUrlAclInfo (URL
 * reservations, "netsh http add urlacl"), which Wine only stubs.
 *
 * The reservations live in a file so they survive between processes, as
 * the real ones live in the registry: SYSGI_HTTPAPI_URLACL, else
 * httpapi-urlacl.txt next to SYSGI_HTTPAPI_LOG, else
 * %TEMP%\sysgi-httpapi-urlacl.txt. Format: UTF-8 text, one reservation a
 * line, "<url prefix><TAB><SDDL>\n", in the order they were added; lines
 * starting with '#' are comments. Every change rewrites the file under a
 * named mutex (a temporary file, then MoveFileEx), so concurrent processes
 * see whole files only.
 *
 * Results as the real API: ERROR_ALREADY_EXISTS for a URL already
 * reserved, ERROR_FILE_NOT_FOUND for deleting or querying one that is not,
 * ERROR_NO_MORE_ITEMS past the last (HttpServiceConfigQueryNext),
 * ERROR_INSUFFICIENT_BUFFER with the size needed, ERROR_INVALID_PARAMETER
 * for a malformed URL or security descriptor (it must be SDDL starting
 * with "D:"). SYSGI_HTTPAPI_FAIL_URLACL=<win32 error> makes every call
 * fail with that error, to test the caller's error paths. Other
 * configuration kinds (SSL bindings, IP listen lists, timeouts) answer
 * ERROR_NOT_SUPPORTED. Reservations are recorded, not enforced.
 */
#include "ha.h"

#include <sddl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ACL 512

typedef struct acl {
  wchar_t *url[MAX_ACL], *sddl[MAX_ACL];
  int n;
} acl;

static void acl_path(char *out, size_t cap) {
  const char *p = getenv("SYSGI_HTTPAPI_URLACL");
  const char *log = getenv("SYSGI_HTTPAPI_LOG");
  if (p && *p) {
    snprintf(out, cap, "%s", p);
  } else if (log && *log) {
    snprintf(out, cap, "%s", log);
    char *slash = strrchr(out, '\\'), *s2 = strrchr(out, '/');
    if (s2 > slash)
      slash = s2;
    if (slash)
      snprintf(slash + 1, cap - (size_t)(slash + 1 - out), "httpapi-urlacl.txt");
    else
      snprintf(out, cap, "httpapi-urlacl.txt");
  } else {
    char tmp[MAX_PATH];
    GetTempPathA(sizeof tmp, tmp);
    snprintf(out, cap, "%ssysgi-httpapi-urlacl.txt", tmp);
  }
}

static wchar_t *wdup_utf8(const char *s, size_t n) {
  int w = MultiByteToWideChar(CP_UTF8, 0, s, (int)n, NULL, 0);
  wchar_t *o = malloc(((size_t)w + 1) * sizeof *o);
  if (o) {
    MultiByteToWideChar(CP_UTF8, 0, s, (int)n, o, w);
    o[w] = 0;
  }
  return o;
}

static void acl_free(acl *a) {
  for (int i = 0; i < a->n; i++) {
    free(a->url[i]);
    free(a->sddl[i]);
  }
  a->n = 0;
}

static int acl_load(acl *a) {
  char path[MAX_PATH];
  acl_path(path, sizeof path);
  a->n = 0;
  FILE *f = fopen(path, "rb");
  if (!f)
    return 0; /* no reservation yet */
  char line[8192];
  while (fgets(line, sizeof line, f) && a->n < MAX_ACL) {
    size_t n = strcspn(line, "\r\n");
    line[n] = '\0';
    char *tab = strchr(line, '\t');
    if (line[0] == '#' || !tab)
      continue;
    a->url[a->n] = wdup_utf8(line, (size_t)(tab - line));
    a->sddl[a->n] = wdup_utf8(tab + 1, strlen(tab + 1));
    if (a->url[a->n] && a->sddl[a->n])
      a->n++;
  }
  fclose(f);
  return 0;
}

static ULONG acl_save(const acl *a) {
  char path[MAX_PATH], tmp[MAX_PATH + 8];
  acl_path(path, sizeof path);
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "wb");
  if (!f)
    return ERROR_ACCESS_DENIED;
  fputs("# sysgi test httpapi.dll URL reservations: url<TAB>sddl\n", f);
  for (int i = 0; i < a->n; i++) {
    char u[4096], s[4096];
    WideCharToMultiByte(CP_UTF8, 0, a->url[i], -1, u, sizeof u, NULL, NULL);
    WideCharToMultiByte(CP_UTF8, 0, a->sddl[i], -1, s, sizeof s, NULL, NULL);
    fprintf(f, "%s\t%s\n", u, s);
  }
  if (fclose(f) != 0 || !MoveFileExA(tmp, path, MOVEFILE_REPLACE_EXISTING))
    return ERROR_ACCESS_DENIED;
  return NO_ERROR;
}

static int acl_find(const acl *a, const wchar_t *url) {
  for (int i = 0; i < a->n; i++)
    if (_wcsicmp(a->url[i], url) == 0)
      return i;
  return -1;
}

/* "http://host:port/path/" (host may be + or *), as http.sys requires. */
static int valid_url(const wchar_t *u) {
  if (!u)
    return 0;
  const wchar_t *h = _wcsnicmp(u, L"http://", 7) == 0    ? u + 7
                     : _wcsnicmp(u, L"https://", 8) == 0 ? u + 8
                                                         : NULL;
  if (!h)
    return 0;
  const wchar_t *slash = wcschr(h, L'/'), *colon = wcschr(h, L':');
  if (!slash || !colon || colon > slash || colon == h || colon + 1 == slash)
    return 0;
  for (const wchar_t *p = colon + 1; p < slash; p++)
    if (*p < L'0' || *p > L'9')
      return 0;
  size_t n = wcslen(u);
  return u[n - 1] == L'/' && n < 2000;
}

static int valid_sddl(const wchar_t *s) {
  PSECURITY_DESCRIPTOR sd = NULL;
  if (!s || wcsncmp(s, L"D:", 2) != 0)
    return 0;
  if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(s, SDDL_REVISION_1,
                                                            &sd, NULL))
    return 0;
  LocalFree(sd);
  return 1;
}

static HANDLE acl_lock(void) {
  HANDLE m = CreateMutexW(NULL, FALSE, L"Local\\sysgi-httpapi-urlacl");
  if (m)
    WaitForSingleObject(m, 30000);
  return m;
}

static void acl_unlock(HANDLE m) {
  if (m) {
    ReleaseMutex(m);
    CloseHandle(m);
  }
}

/* Common checks; returns NO_ERROR to go on. */
static ULONG precheck(const char *fn, HANDLE h, HTTP_SERVICE_CONFIG_ID id,
                      PVOID info, ULONG len, ULONG want, LPOVERLAPPED ov) {
  ha_start();
  ha_trace("%s %d", fn, (int)id);
  EnterCriticalSection(&G.lock);
  int init = G.init_config > 0;
  LeaveCriticalSection(&G.lock);
  if (!init)
    ha_violation("%s without HttpInitialize(HTTP_INITIALIZE_CONFIG)", fn);
  const char *fail = getenv("SYSGI_HTTPAPI_FAIL_URLACL");
  if (fail && *fail && id == HttpServiceConfigUrlAclInfo)
    return (ULONG)strtoul(fail, NULL, 10);
  if (h || ov)
    return ERROR_INVALID_PARAMETER;
  if (id != HttpServiceConfigUrlAclInfo)
    return ERROR_NOT_SUPPORTED;
  if (!info || len < want)
    return ERROR_INVALID_PARAMETER;
  return NO_ERROR;
}

ULONG WINAPI HttpSetServiceConfiguration(HANDLE h, HTTP_SERVICE_CONFIG_ID id,
                                         PVOID info, ULONG len,
                                         LPOVERLAPPED ov) {
  ULONG rc = precheck("HttpSetServiceConfiguration", h, id, info, len,
                      sizeof(HTTP_SERVICE_CONFIG_URLACL_SET), ov);
  if (rc != NO_ERROR)
    return rc;
  HTTP_SERVICE_CONFIG_URLACL_SET *s = info;
  if (!valid_url(s->KeyDesc.pUrlPrefix) ||
      !valid_sddl(s->ParamDesc.pStringSecurityDescriptor))
    return ERROR_INVALID_PARAMETER;
  HANDLE m = acl_lock();
  acl a;
  acl_load(&a);
  if (acl_find(&a, s->KeyDesc.pUrlPrefix) >= 0) {
    rc = ERROR_ALREADY_EXISTS;
  } else if (a.n == MAX_ACL) {
    rc = ERROR_NOT_ENOUGH_MEMORY;
  } else {
    a.url[a.n] = _wcsdup(s->KeyDesc.pUrlPrefix);
    a.sddl[a.n] = _wcsdup(s->ParamDesc.pStringSecurityDescriptor);
    a.n++;
    rc = acl_save(&a);
  }
  acl_free(&a);
  acl_unlock(m);
  return rc;
}

ULONG WINAPI HttpDeleteServiceConfiguration(HANDLE h,
                                            HTTP_SERVICE_CONFIG_ID id,
                                            PVOID info, ULONG len,
                                            LPOVERLAPPED ov) {
  ULONG rc = precheck("HttpDeleteServiceConfiguration", h, id, info, len,
                      sizeof(HTTP_SERVICE_CONFIG_URLACL_SET), ov);
  if (rc != NO_ERROR)
    return rc;
  HTTP_SERVICE_CONFIG_URLACL_SET *s = info;
  if (!valid_url(s->KeyDesc.pUrlPrefix))
    return ERROR_INVALID_PARAMETER;
  HANDLE m = acl_lock();
  acl a;
  acl_load(&a);
  int i = acl_find(&a, s->KeyDesc.pUrlPrefix);
  if (i < 0) {
    rc = ERROR_FILE_NOT_FOUND;
  } else {
    free(a.url[i]);
    free(a.sddl[i]);
    memmove(a.url + i, a.url + i + 1, (size_t)(a.n - i - 1) * sizeof *a.url);
    memmove(a.sddl + i, a.sddl + i + 1, (size_t)(a.n - i - 1) * sizeof *a.sddl);
    a.n--;
    rc = acl_save(&a);
  }
  acl_free(&a);
  acl_unlock(m);
  return rc;
}

ULONG WINAPI HttpQueryServiceConfiguration(HANDLE h, HTTP_SERVICE_CONFIG_ID id,
                                           PVOID in, ULONG in_len, PVOID out,
                                           ULONG out_len, PULONG ret_len,
                                           LPOVERLAPPED ov) {
  ULONG rc = precheck("HttpQueryServiceConfiguration", h, id, in, in_len,
                      sizeof(HTTP_SERVICE_CONFIG_URLACL_QUERY), ov);
  if (rc != NO_ERROR)
    return rc;
  HTTP_SERVICE_CONFIG_URLACL_QUERY *q = in;
  HANDLE m = acl_lock();
  acl a;
  acl_load(&a);
  int i = -1;
  if (q->QueryDesc == HttpServiceConfigQueryExact) {
    i = valid_url(q->KeyDesc.pUrlPrefix) ? acl_find(&a, q->KeyDesc.pUrlPrefix)
                                         : -2;
    rc = i == -2 ? ERROR_INVALID_PARAMETER
                 : i < 0 ? ERROR_FILE_NOT_FOUND : NO_ERROR;
  } else if (q->QueryDesc == HttpServiceConfigQueryNext) {
    i = q->dwToken < (DWORD)a.n ? (int)q->dwToken : -1;
    rc = i < 0 ? ERROR_NO_MORE_ITEMS : NO_ERROR;
  } else {
    rc = ERROR_INVALID_PARAMETER;
  }
  if (rc == NO_ERROR) {
    size_t ul = wcslen(a.url[i]) + 1, sl = wcslen(a.sddl[i]) + 1;
    ULONG need = (ULONG)(sizeof(HTTP_SERVICE_CONFIG_URLACL_SET) +
                         (ul + sl) * sizeof(wchar_t));
    if (ret_len)
      *ret_len = need;
    if (!out || out_len < need) {
      rc = ERROR_INSUFFICIENT_BUFFER;
    } else {
      HTTP_SERVICE_CONFIG_URLACL_SET *s = out;
      wchar_t *w = (wchar_t *)(s + 1);
      memcpy(w, a.url[i], ul * sizeof *w);
      memcpy(w + ul, a.sddl[i], sl * sizeof *w);
      s->KeyDesc.pUrlPrefix = w;
      s->ParamDesc.pStringSecurityDescriptor = w + ul;
    }
  }
  acl_free(&a);
  acl_unlock(m);
  return rc;
}
