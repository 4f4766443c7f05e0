/* winsock2.h (fuzz shim): the socket address types request.c reads,
 * mapped onto the POSIX ones (same fields: sa_family, sin_port, sin_addr,
 * sin6_port, sin6_addr). */
#ifndef SYSGI_FUZZ_SHIM_WINSOCK2_H
#define SYSGI_FUZZ_SHIM_WINSOCK2_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "windows.h"

typedef struct sockaddr SOCKADDR, *PSOCKADDR;
typedef struct sockaddr_in SOCKADDR_IN;
typedef struct sockaddr_in6 SOCKADDR_IN6;

#endif
