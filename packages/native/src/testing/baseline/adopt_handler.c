/*
 * faultline_adopt_handler: the C reference for the bench's adopt scenarios, a
 * handler PROCESS serving another process's uffd (faultline_adopt_child, or
 * anything that sends the same handshake), as Firecracker's example handlers
 * do.
 *
 * It listens on --socket, accepts ONE connection, receives the peer's region
 * description with its uffd attached (either handshake format of
 * adopt_child.c: {"address","size"} or Firecracker's
 * [{"base_host_virt_addr","size","offset"}], one region), and serves it with
 * ONE handler thread and ONE install ioctl per fault (serve_core.h; --handler
 * blocking: sleeping in read(2), busy: spinning on non-blocking reads). It
 * writes "go" to the peer, waits for the peer's "done" (or end of file),
 * then prints one JSON line: faults, eexist and cpuNs, the CPU of this whole
 * process from "go" to "done" (the serving thread's work during the touch,
 * and for busy its spinning).
 *
 * Usage: faultline_adopt_handler --socket PATH [--handler blocking|busy]
 *          [--page-content pattern|zero|file] [--file PATH] [--seed N]
 *          [--readahead N] [--timeout-s N]
 * The socket file is removed on the way out. Exit 2: bad usage; 1: a system
 * call failed; killed by SIGALRM: no peer finished within --timeout-s (60).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args_core.h"
#include "proc_usage.h"
#include "serve_core.h"
#include "unix_socket.h"

struct config {
  const char* socket_path;
  unsigned timeout_s;
  struct serve_config serve;
};

static void parse_args(int argc, char** argv, struct config* c) {
  memset(c, 0, sizeof(*c));
  serve_config_init(&c->serve);
  c->timeout_s = 60;
  for (int i = 1; i < argc; i += 2) {
    const char* a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : NULL;
    if (serve_config_option(&c->serve, a, v)) continue;
    if (strcmp(a, "--socket") == 0) {
      c->socket_path = need_value(a, v);
    } else if (strcmp(a, "--timeout-s") == 0) {
      c->timeout_s = parse_timeout_s(need_value(a, v));
    } else {
      usage_error("unknown option", a);
    }
  }
  if (c->socket_path == NULL) usage_error("--socket PATH is required (where to listen), got", "nothing");
  check_serve_config(&c->serve);
}

/* The number after "key": in a flat JSON text; 0 when absent. Enough for the
   two handshakes above (numbers only, one region); not a JSON parser. */
static int json_number(const char* text, const char* key, uint64_t* out) {
  char quoted[64];
  snprintf(quoted, sizeof(quoted), "\"%s\"", key);
  const char* at = strstr(text, quoted);
  if (at == NULL) return 0;
  at += strlen(quoted);
  while (*at == ' ' || *at == ':') at++;
  char* end = NULL;
  errno = 0;
  unsigned long long v = strtoull(at, &end, 10);
  if (end == at || errno != 0) return 0;
  *out = v;
  return 1;
}

static const char* socket_to_remove;
static void remove_socket(void) { unlink(socket_to_remove); }

int main(int argc, char** argv) {
  args_program = "faultline_adopt_handler";
  args_usage =
      "usage: faultline_adopt_handler --socket PATH [--handler blocking|busy] [--page-content pattern|zero|file]\n"
      "         [--file PATH] [--seed N] [--readahead N] [--timeout-s N]\n";
  struct config config;
  parse_args(argc, argv, &config);
  alarm(config.timeout_s); /* a peer that never finishes must not keep us forever */

  const int listener = unix_listen(config.socket_path);
  socket_to_remove = config.socket_path;
  atexit(remove_socket);
  const int s = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
  if (s < 0) die("accept failed: %s", strerror(errno));
  close(listener);

  char handshake[4096];
  const int uffd = recv_with_fd(s, handshake, sizeof(handshake));
  uint64_t address = 0, size = 0, offset = 0;
  if (!json_number(handshake, "address", &address)) json_number(handshake, "base_host_virt_addr", &address);
  json_number(handshake, "size", &size);
  json_number(handshake, "offset", &offset);
  if (address == 0 || size == 0) {
    die("the handshake names no region (wanted \"address\" or \"base_host_virt_addr\", and \"size\"): %s", handshake);
  }

  struct server server;
  server_init(&server, uffd, address, size, &config.serve);
  server.offset = offset;
  server_start(&server);

  const uint64_t cpu_before = process_cpu_ns();
  send_line(s, "go\n");
  char line[64];
  while (read_line(s, line, sizeof(line)) >= 0 && strcmp(line, "done") != 0) {
  }
  const uint64_t cpu_ns = process_cpu_ns() - cpu_before;
  /* The peer touched every page (or is gone): nothing is pending any more. */
  server_stop(&server);

  printf("{\"handler\":\"c-adopt\",\"mode\":\"%s\",\"readahead\":%zu,\"content\":\"%s\",\"address\":%llu,"
         "\"size\":%llu,\"offset\":%llu,\"faults\":%llu,\"eexist\":%llu,\"cpuNs\":%llu}\n",
         mode_name(config.serve.mode), config.serve.readahead, content_name(config.serve.content),
         (unsigned long long)address, (unsigned long long)size, (unsigned long long)offset,
         (unsigned long long)server.faults, (unsigned long long)server.eexist, (unsigned long long)cpu_ns);
  close(s);
  close(uffd);
  server_release(&server);
  return 0;
}
