/* ws2tcpip.h (fuzz shim): inet_ntop and INET6_ADDRSTRLEN come from the
 * POSIX headers winsock2.h includes. */
#include "winsock2.h"
