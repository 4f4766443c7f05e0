/* urlacl.h: the service account's SID and its http.sys URL reservations
 * (HttpServiceConfigUrlAclInfo, the API behind `netsh http add urlacl`). */
#ifndef SYSGI_SERVICE_URLACL_H
#define SYSGI_SERVICE_URLACL_H

#include <winsock2.h>
#include <windows.h>

#include <stddef.h>

/* The SID of a service's virtual account NT SERVICE\<name>, derived as
 * the SCM does: S-1-5-80- followed by the SHA-1 of the upper-cased name
 * (UTF-16LE) as five little-endian 32-bit numbers. *sid: LocalFree it.
 * Returns 0 or a Win32 error. */
DWORD svc_service_sid(const wchar_t *service_name, wchar_t **sid);

/* The string SID of `account` (LookupAccountNameW; "LocalSystem" is
 * S-1-5-18). For NT SERVICE\<name>, which only resolves on Windows once the
 * service exists with an unrestricted service SID (and never on Wine), the
 * derivation above is the fallback. *sid: LocalFree it. Returns 0, or a
 * Win32 error with the reason in err. */
DWORD svc_account_sid(const wchar_t *account, wchar_t **sid, char *err,
                      size_t err_len);

/* HttpInitialize(HTTP_INITIALIZE_CONFIG) / HttpTerminate around the calls
 * below. Return Win32 errors. */
DWORD svc_urlacl_begin(void);
void svc_urlacl_end(void);
/* Reserves `url` for `sid` (SDDL D:(A;;GX;;;SID)). An existing reservation
 * of the same URL (an earlier install, another account) is replaced.
 * Returns 0 or a Win32 error. */
DWORD svc_urlacl_add(const wchar_t *url, const wchar_t *sid);
/* Removes the reservation; one that does not exist counts as removed. */
DWORD svc_urlacl_delete(const wchar_t *url);

#endif
