/*
 * eventlog.c: Event Log source registration and reporting.
 *
 * Why a message table and not one generic "%1" ID: Event Viewer shows the
 * text of the ID's message, and administrators filter and alert on IDs
 * (sysgi_msg.mc has one per kind of event: started, stopped, configuration
 * error, crash restart, ...).
 */
#include "eventlog.h"

#include <stdlib.h>
#include <wchar.h>

#include "svc_util.h"

static HANDLE source; /* set once by svc_eventlog_open, before threads */

DWORD svc_eventlog_register(const wchar_t *exe_path) {
  HKEY key;
  DWORD types = EVENTLOG_ERROR_TYPE | EVENTLOG_WARNING_TYPE |
                EVENTLOG_INFORMATION_TYPE;
  LSTATUS st = RegCreateKeyExW(HKEY_LOCAL_MACHINE, SVC_EVENTLOG_KEY, 0, NULL,
                               0, KEY_SET_VALUE, NULL, &key, NULL);
  if (st != ERROR_SUCCESS)
    return (DWORD)st;
  st = RegSetValueExW(key, L"EventMessageFile", 0, REG_EXPAND_SZ,
                      (const BYTE *)exe_path,
                      (DWORD)((wcslen(exe_path) + 1) * sizeof(wchar_t)));
  if (st == ERROR_SUCCESS)
    st = RegSetValueExW(key, L"TypesSupported", 0, REG_DWORD,
                        (const BYTE *)&types, sizeof types);
  RegCloseKey(key);
  return (DWORD)st;
}

DWORD svc_eventlog_unregister(void) {
  LSTATUS st = RegDeleteKeyW(HKEY_LOCAL_MACHINE, SVC_EVENTLOG_KEY);
  return st == ERROR_FILE_NOT_FOUND ? ERROR_SUCCESS : (DWORD)st;
}

int svc_eventlog_open(void) {
  if (!source)
    source = RegisterEventSourceW(NULL, SVC_NAME);
  return source ? 0 : -1;
}

void svc_eventlog_close(void) {
  if (source)
    DeregisterEventSource(source);
  source = NULL;
}

void svc_eventlog_report(DWORD id, const char *detail) {
  if (!source)
    return;
  WORD type;
  switch (id >> 30) {
  case 3: type = EVENTLOG_ERROR_TYPE; break;
  case 2: type = EVENTLOG_WARNING_TYPE; break;
  default: type = EVENTLOG_INFORMATION_TYPE; break;
  }
  wchar_t *w = svc_wide(detail ? detail : "");
  LPCWSTR strings[1] = {w ? w : L"(out of memory)"};
  /* ReportEventW is thread-safe; a failure (full log) is not worth a
   * second failure report anywhere. */
  ReportEventW(source, type, 0, id, NULL, 1, 0, strings, NULL);
  free(w);
}
