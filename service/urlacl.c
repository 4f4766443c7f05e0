/*
 * urlacl.c: service SIDs and URL ACL reservations.
 *
 * Why reserve at all: a virtual account is not an administrator, and
 * http.sys lets a process register a URL prefix only if a reservation's
 * security descriptor grants its token GX (listen). Install runs elevated,
 * so it makes the reservations the service will need.
 */
#include "urlacl.h"

#include <http.h>
#include <sddl.h>
#include <stdio.h>
#include <stdlib.h>
#include <wchar.h>
#include <wincrypt.h>

DWORD svc_service_sid(const wchar_t *service_name, wchar_t **sid) {
  size_t n = wcslen(service_name);
  wchar_t *upper = malloc((n + 1) * sizeof *upper);
  HCRYPTPROV prov = 0;
  HCRYPTHASH hash = 0;
  BYTE digest[20];
  DWORD dlen = sizeof digest, err = 0;
  if (!upper)
    return ERROR_NOT_ENOUGH_MEMORY;
  wmemcpy(upper, service_name, n + 1);
  CharUpperBuffW(upper, (DWORD)n);
  if (!CryptAcquireContextW(&prov, NULL, NULL, PROV_RSA_FULL,
                            CRYPT_VERIFYCONTEXT) ||
      !CryptCreateHash(prov, CALG_SHA1, 0, 0, &hash) ||
      !CryptHashData(hash, (const BYTE *)upper, (DWORD)(n * sizeof *upper),
                     0) ||
      !CryptGetHashParam(hash, HP_HASHVAL, digest, &dlen, 0) || dlen != 20)
    err = GetLastError() ? GetLastError() : ERROR_INVALID_DATA;
  if (hash)
    CryptDestroyHash(hash);
  if (prov)
    CryptReleaseContext(prov, 0);
  free(upper);
  if (err)
    return err;
  wchar_t text[128];
  DWORD v[5];
  for (int i = 0; i < 5; i++)
    v[i] = (DWORD)digest[4 * i] | (DWORD)digest[4 * i + 1] << 8 |
           (DWORD)digest[4 * i + 2] << 16 | (DWORD)digest[4 * i + 3] << 24;
  _snwprintf(text, 128, L"S-1-5-80-%lu-%lu-%lu-%lu-%lu", (unsigned long)v[0],
             (unsigned long)v[1], (unsigned long)v[2], (unsigned long)v[3],
             (unsigned long)v[4]);
  text[127] = 0;
  size_t len = (wcslen(text) + 1) * sizeof(wchar_t);
  *sid = LocalAlloc(LMEM_FIXED, len);
  if (!*sid)
    return ERROR_NOT_ENOUGH_MEMORY;
  memcpy(*sid, text, len);
  return 0;
}

static const wchar_t *nt_service_name(const wchar_t *account) {
  static const wchar_t prefix[] = L"NT SERVICE\\";
  size_t n = wcslen(prefix);
  return !_wcsnicmp(account, prefix, n) && account[n] ? account + n : NULL;
}

DWORD svc_account_sid(const wchar_t *account, wchar_t **sid, char *err,
                      size_t err_len) {
  BYTE buf[SECURITY_MAX_SID_SIZE];
  DWORD size = sizeof buf;
  wchar_t domain[256];
  DWORD dsize = 256;
  SID_NAME_USE use;
  DWORD e;
  *sid = NULL;
  if (!_wcsicmp(account, L"LocalSystem")) {
    if (!CreateWellKnownSid(WinLocalSystemSid, NULL, buf, &size))
      goto lookup_failed;
  } else if (!LookupAccountNameW(NULL, account, buf, &size, domain, &dsize,
                                 &use)) {
    const wchar_t *svc = nt_service_name(account);
    e = GetLastError();
    if (svc) {
      /* Wine has no virtual accounts; Windows knows NT SERVICE\x only for
       * an installed service. The derivation is what Windows computes. */
      e = svc_service_sid(svc, sid);
      if (e)
        snprintf(err, err_len,
                 "cannot derive the service SID of %ls (Win32 error %lu)",
                 account, (unsigned long)e);
      return e;
    }
    snprintf(err, err_len, "unknown account %ls (Win32 error %lu)", account,
             (unsigned long)e);
    return e;
  }
  if (!ConvertSidToStringSidW((PSID)buf, sid))
    goto lookup_failed;
  return 0;
lookup_failed:
  e = GetLastError();
  snprintf(err, err_len, "cannot read the SID of %ls (Win32 error %lu)",
           account, (unsigned long)e);
  return e ? e : ERROR_INVALID_SID;
}

DWORD svc_urlacl_begin(void) {
  HTTPAPI_VERSION v = HTTPAPI_VERSION_1;
  return HttpInitialize(v, HTTP_INITIALIZE_CONFIG, NULL);
}

void svc_urlacl_end(void) { HttpTerminate(HTTP_INITIALIZE_CONFIG, NULL); }

DWORD svc_urlacl_add(const wchar_t *url, const wchar_t *sid) {
  wchar_t sddl[256];
  _snwprintf(sddl, 256, L"D:(A;;GX;;;%ls)", sid);
  sddl[255] = 0;
  HTTP_SERVICE_CONFIG_URLACL_SET set;
  set.KeyDesc.pUrlPrefix = (PWSTR)url;
  set.ParamDesc.pStringSecurityDescriptor = sddl;
  DWORD e = HttpSetServiceConfiguration(NULL, HttpServiceConfigUrlAclInfo,
                                        &set, sizeof set, NULL);
  if (e == ERROR_ALREADY_EXISTS) {
    /* The reservation of an earlier install (maybe for another account):
     * what this install asks for replaces it, as netsh would need. */
    e = svc_urlacl_delete(url);
    if (!e)
      e = HttpSetServiceConfiguration(NULL, HttpServiceConfigUrlAclInfo,
                                      &set, sizeof set, NULL);
  }
  return e;
}

DWORD svc_urlacl_delete(const wchar_t *url) {
  HTTP_SERVICE_CONFIG_URLACL_SET set;
  set.KeyDesc.pUrlPrefix = (PWSTR)url;
  set.ParamDesc.pStringSecurityDescriptor = NULL;
  DWORD e = HttpDeleteServiceConfiguration(NULL, HttpServiceConfigUrlAclInfo,
                                           &set, sizeof set, NULL);
  return e == ERROR_FILE_NOT_FOUND ? 0 : e;
}
