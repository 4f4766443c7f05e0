/*
 * floor.c: the cheapest server that obeys PEP 3333 for yields256: one
 * blocking write() per 4 KiB block on a TCP_NODELAY socket, no HTTP parsing
 * beyond finding the end of each request head, one thread per connection.
 * What it costs per block (bench/cpu.py --servers floor) is the kernel's
 * price of handing one block to loopback TCP, which every server that does
 * not coalesce blocks pays; it is not part of sysgi. `floor PORT nagle`
 * leaves TCP_NODELAY off, as uwsgi's --http11-socket does: the kernel then
 * holds a block back while an earlier one is unacknowledged and merges
 * them, which PEP 3333's "request that any O/S buffers be flushed" rules
 * out for a compliant server.
 *
 *     cc -O2 -pthread -o build/floor bench/floor.c && build/floor PORT [nagle]
 */
#define _GNU_SOURCE /* memmem */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BLOCK 4096
#define BLOCKS 256

static char block[BLOCK];
static int nodelay = 1;

static int write_all(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t k = write(fd, p, n);
    if (k <= 0)
      return -1;
    p += k;
    n -= (size_t)k;
  }
  return 0;
}

static void *serve(void *arg) {
  int fd = (int)(intptr_t)arg, one = 1;
  char buf[8192], head[160];
  size_t have = 0;
  if (nodelay)
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  int hl = snprintf(head, sizeof head,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream"
                    "\r\nConnection: keep-alive\r\nContent-Length: %d\r\n\r\n", BLOCK * BLOCKS);
  for (;;) {
    char *end;
    while (!(end = memmem(buf, have, "\r\n\r\n", 4))) {
      if (have == sizeof buf)
        goto out;
      ssize_t k = read(fd, buf + have, sizeof buf - have);
      if (k <= 0)
        goto out;
      have += (size_t)k;
    }
    size_t used = (size_t)(end + 4 - buf);
    memmove(buf, buf + used, have - used);
    have -= used;
    if (write_all(fd, head, (size_t)hl))
      goto out;
    for (int i = 0; i < BLOCKS; i++)
      if (write_all(fd, block, BLOCK))
        goto out;
  }
out:
  close(fd);
  return NULL;
}

int main(int argc, char **argv) {
  int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons(argc > 1 ? atoi(argv[1]) : 8099),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  nodelay = !(argc > 2 && !strcmp(argv[2], "nagle"));
  signal(SIGPIPE, SIG_IGN); /* a client that leaves ends its thread only */
  for (int i = 0; i < BLOCK; i++)
    block[i] = (char)i;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, 128)) {
    perror("floor");
    return 1;
  }
  for (;;) {
    int c = accept(s, NULL, NULL);
    pthread_t t;
    if (c >= 0 && pthread_create(&t, NULL, serve, (void *)(intptr_t)c) == 0)
      pthread_detach(t);
    else if (c >= 0)
      close(c);
  }
}
