/*
 * windows.h (fuzz shim): the few Win32 types and calls httpsys/src/hs.h
 * and httpsys/src/request.c use, so request.c compiles natively, as it
 * is, for fuzz_httpsys_request. Names and layouts as in the Windows SDK;
 * nothing here is called by the fuzz target except the stubs below.
 */
#ifndef SYSGI_FUZZ_SHIM_WINDOWS_H
#define SYSGI_FUZZ_SHIM_WINDOWS_H

#include <stddef.h>
#include <stdint.h>

typedef unsigned char BYTE, UCHAR;
typedef uint16_t USHORT, WORD;
typedef uint32_t ULONG, DWORD;
typedef int32_t LONG;
typedef int BOOL;
typedef uint64_t ULONGLONG;
typedef int64_t LONGLONG, LONG64;
typedef void *PVOID, *HANDLE;
typedef const char *PCSTR;
typedef const uint16_t *PCWSTR;
typedef uintptr_t ULONG_PTR;

typedef struct _OVERLAPPED {
  ULONG_PTR Internal, InternalHigh;
  union {
    struct {
      DWORD Offset, OffsetHigh;
    };
    PVOID Pointer;
  };
  HANDLE hEvent;
} OVERLAPPED;

typedef struct _RTL_SRWLOCK {
  PVOID Ptr;
} SRWLOCK;
typedef struct _RTL_CONDITION_VARIABLE {
  PVOID Ptr;
} CONDITION_VARIABLE;
typedef struct _TP_TIMER TP_TIMER, *PTP_TIMER;

typedef struct _FILETIME {
  DWORD dwLowDateTime, dwHighDateTime;
} FILETIME;
typedef union _ULARGE_INTEGER {
  struct {
    DWORD LowPart, HighPart;
  };
  struct {
    DWORD LowPart, HighPart;
  } u;
  ULONGLONG QuadPart;
} ULARGE_INTEGER;

/* A fixed time: the fuzz target needs no clock. */
static inline void GetSystemTimePreciseAsFileTime(FILETIME *ft) {
  ft->dwLowDateTime = 0;
  ft->dwHighDateTime = 0x01D00000u;
}

static inline int _strnicmp(const char *a, const char *b, size_t n) {
  for (size_t i = 0; i < n; i++) {
    int x = (unsigned char)a[i], y = (unsigned char)b[i];
    if (x >= 'A' && x <= 'Z')
      x += 'a' - 'A';
    if (y >= 'A' && y <= 'Z')
      y += 'a' - 'A';
    if (x != y || !x)
      return x - y;
  }
  return 0;
}

#endif
