/*
 * errors.c: the one place where a Win32 / HTTP Server API error code
 * becomes a SYSGI_E_* code (the idea of libuv's uv_translate_sys_error).
 */
#include "hs.h"

int sysgi_httpsys_translate_error(unsigned long err) {
  switch (err) {
  case NO_ERROR:
    return SYSGI_OK;
  case ERROR_IO_PENDING:
    return SYSGI_PENDING;
  case ERROR_NOT_ENOUGH_MEMORY:
  case ERROR_OUTOFMEMORY:
  case ERROR_NO_SYSTEM_RESOURCES:
    return SYSGI_E_NOMEM;
  /* The client closed the connection or the request was cancelled. */
  case ERROR_CONNECTION_INVALID:
  case ERROR_CONNECTION_ABORTED:
  case ERROR_NETNAME_DELETED:
  case ERROR_OPERATION_ABORTED:
  case ERROR_GRACEFUL_DISCONNECT:
  case WSAECONNRESET:
  case WSAECONNABORTED:
    return SYSGI_E_CLIENT_GONE;
  case ERROR_INVALID_PARAMETER:
  case ERROR_INVALID_HANDLE:
  case ERROR_INVALID_FUNCTION:
    return SYSGI_E_INVAL;
  case ERROR_NOT_SUPPORTED:
  case ERROR_CALL_NOT_IMPLEMENTED:
  case ERROR_INVALID_LEVEL:
    return SYSGI_E_UNSUPPORTED;
  /* URL registration: another process owns it, or no URL ACL. */
  case ERROR_ALREADY_EXISTS:
  case ERROR_SHARING_VIOLATION:
  case ERROR_ACCESS_DENIED:
    return SYSGI_E_CONFIG;
  case ERROR_SEM_TIMEOUT:
  case WAIT_TIMEOUT:
  case ERROR_TIMEOUT:
    return SYSGI_E_TIMEOUT;
  case ERROR_MORE_DATA:
  case ERROR_INSUFFICIENT_BUFFER:
    return SYSGI_E_TOO_LARGE;
  case ERROR_NOT_READY:
  case ERROR_BUSY:
  case ERROR_TOO_MANY_CMDS:
    return SYSGI_E_BUSY;
  default:
    return SYSGI_E_IO;
  }
}
