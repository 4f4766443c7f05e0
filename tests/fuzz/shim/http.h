/*
 * http.h (fuzz shim): the HTTP Server API types httpsys/src/hs.h and
 * request.c use, with the Windows SDK's names, member order and enum
 * values (HTTP_REQUEST is the V1 layout: request.c reads no V2 member).
 */
#ifndef SYSGI_FUZZ_SHIM_HTTP_H
#define SYSGI_FUZZ_SHIM_HTTP_H

#include "winsock2.h"

typedef ULONGLONG HTTP_OPAQUE_ID, HTTP_REQUEST_ID, HTTP_CONNECTION_ID,
    HTTP_RAW_CONNECTION_ID, HTTP_URL_CONTEXT, HTTP_SERVER_SESSION_ID,
    HTTP_URL_GROUP_ID;
#define HTTP_NULL_ID (0ull)

typedef struct _HTTP_VERSION {
  USHORT MajorVersion;
  USHORT MinorVersion;
} HTTP_VERSION;

typedef enum _HTTP_VERB {
  HttpVerbUnparsed, HttpVerbUnknown, HttpVerbInvalid, HttpVerbOPTIONS,
  HttpVerbGET, HttpVerbHEAD, HttpVerbPOST, HttpVerbPUT, HttpVerbDELETE,
  HttpVerbTRACE, HttpVerbCONNECT, HttpVerbTRACK, HttpVerbMOVE, HttpVerbCOPY,
  HttpVerbPROPFIND, HttpVerbPROPPATCH, HttpVerbMKCOL, HttpVerbLOCK,
  HttpVerbUNLOCK, HttpVerbSEARCH, HttpVerbMaximum
} HTTP_VERB;

typedef enum _HTTP_HEADER_ID {
  HttpHeaderCacheControl = 0, HttpHeaderConnection = 1, HttpHeaderDate = 2,
  HttpHeaderKeepAlive = 3, HttpHeaderPragma = 4, HttpHeaderTrailer = 5,
  HttpHeaderTransferEncoding = 6, HttpHeaderUpgrade = 7, HttpHeaderVia = 8,
  HttpHeaderWarning = 9, HttpHeaderAllow = 10, HttpHeaderContentLength = 11,
  HttpHeaderContentType = 12, HttpHeaderContentEncoding = 13,
  HttpHeaderContentLanguage = 14, HttpHeaderContentLocation = 15,
  HttpHeaderContentMd5 = 16, HttpHeaderContentRange = 17,
  HttpHeaderExpires = 18, HttpHeaderLastModified = 19,
  HttpHeaderAccept = 20, HttpHeaderAcceptCharset = 21,
  HttpHeaderAcceptEncoding = 22, HttpHeaderAcceptLanguage = 23,
  HttpHeaderAuthorization = 24, HttpHeaderCookie = 25, HttpHeaderExpect = 26,
  HttpHeaderFrom = 27, HttpHeaderHost = 28, HttpHeaderIfMatch = 29,
  HttpHeaderIfModifiedSince = 30, HttpHeaderIfNoneMatch = 31,
  HttpHeaderIfRange = 32, HttpHeaderIfUnmodifiedSince = 33,
  HttpHeaderMaxForwards = 34, HttpHeaderProxyAuthorization = 35,
  HttpHeaderReferer = 36, HttpHeaderRange = 37, HttpHeaderTe = 38,
  HttpHeaderTranslate = 39, HttpHeaderUserAgent = 40,
  HttpHeaderRequestMaximum = 41,
  HttpHeaderAcceptRanges = 20, HttpHeaderAge = 21, HttpHeaderEtag = 22,
  HttpHeaderLocation = 23, HttpHeaderProxyAuthenticate = 24,
  HttpHeaderRetryAfter = 25, HttpHeaderServer = 26, HttpHeaderSetCookie = 27,
  HttpHeaderVary = 28, HttpHeaderWwwAuthenticate = 29,
  HttpHeaderResponseMaximum = 30, HttpHeaderMaximum = 41
} HTTP_HEADER_ID;

typedef struct _HTTP_KNOWN_HEADER {
  USHORT RawValueLength;
  PCSTR pRawValue;
} HTTP_KNOWN_HEADER;

typedef struct _HTTP_UNKNOWN_HEADER {
  USHORT NameLength;
  USHORT RawValueLength;
  PCSTR pName;
  PCSTR pRawValue;
} HTTP_UNKNOWN_HEADER, *PHTTP_UNKNOWN_HEADER;

typedef struct _HTTP_BYTE_RANGE {
  ULARGE_INTEGER StartingOffset;
  ULARGE_INTEGER Length;
} HTTP_BYTE_RANGE;

typedef enum _HTTP_DATA_CHUNK_TYPE {
  HttpDataChunkFromMemory = 0, HttpDataChunkFromFileHandle,
  HttpDataChunkFromFragmentCache, HttpDataChunkFromFragmentCacheEx,
  HttpDataChunkMaximum
} HTTP_DATA_CHUNK_TYPE;

typedef struct _HTTP_DATA_CHUNK {
  HTTP_DATA_CHUNK_TYPE DataChunkType;
  union {
    struct {
      PVOID pBuffer;
      ULONG BufferLength;
    } FromMemory;
    struct {
      HTTP_BYTE_RANGE ByteRange;
      HANDLE FileHandle;
    } FromFileHandle;
  };
} HTTP_DATA_CHUNK, *PHTTP_DATA_CHUNK;

typedef struct _HTTP_REQUEST_HEADERS {
  USHORT UnknownHeaderCount;
  PHTTP_UNKNOWN_HEADER pUnknownHeaders;
  USHORT TrailerCount;
  PHTTP_UNKNOWN_HEADER pTrailers;
  HTTP_KNOWN_HEADER KnownHeaders[HttpHeaderRequestMaximum];
} HTTP_REQUEST_HEADERS;

typedef struct _HTTP_RESPONSE_HEADERS {
  USHORT UnknownHeaderCount;
  PHTTP_UNKNOWN_HEADER pUnknownHeaders;
  USHORT TrailerCount;
  PHTTP_UNKNOWN_HEADER pTrailers;
  HTTP_KNOWN_HEADER KnownHeaders[HttpHeaderResponseMaximum];
} HTTP_RESPONSE_HEADERS;

typedef struct _HTTP_TRANSPORT_ADDRESS {
  PSOCKADDR pRemoteAddress;
  PSOCKADDR pLocalAddress;
} HTTP_TRANSPORT_ADDRESS;

typedef struct _HTTP_COOKED_URL {
  USHORT FullUrlLength, HostLength, AbsPathLength, QueryStringLength;
  PCWSTR pFullUrl, pHost, pAbsPath, pQueryString;
} HTTP_COOKED_URL;

typedef struct _HTTP_SSL_INFO HTTP_SSL_INFO, *PHTTP_SSL_INFO;

typedef struct _HTTP_REQUEST_V1 {
  ULONG Flags;
  HTTP_CONNECTION_ID ConnectionId;
  HTTP_REQUEST_ID RequestId;
  HTTP_URL_CONTEXT UrlContext;
  HTTP_VERSION Version;
  HTTP_VERB Verb;
  USHORT UnknownVerbLength;
  USHORT RawUrlLength;
  PCSTR pUnknownVerb;
  PCSTR pRawUrl;
  HTTP_COOKED_URL CookedUrl;
  HTTP_TRANSPORT_ADDRESS Address;
  HTTP_REQUEST_HEADERS Headers;
  ULONGLONG BytesReceived;
  USHORT EntityChunkCount;
  PHTTP_DATA_CHUNK pEntityChunks;
  HTTP_RAW_CONNECTION_ID RawConnectionId;
  PHTTP_SSL_INFO pSslInfo;
} HTTP_REQUEST_V1, HTTP_REQUEST;

typedef struct _HTTP_RESPONSE_V1 {
  ULONG Flags;
  HTTP_VERSION Version;
  USHORT StatusCode;
  USHORT ReasonLength;
  PCSTR pReason;
  HTTP_RESPONSE_HEADERS Headers;
  USHORT EntityChunkCount;
  PHTTP_DATA_CHUNK pEntityChunks;
} HTTP_RESPONSE_V1, HTTP_RESPONSE;

#endif
