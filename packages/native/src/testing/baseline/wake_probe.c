/*
 * faultline_wake_probe: what one thread waking another costs on this machine,
 * printed as one JSON line for the bench's header.
 *
 * Two threads pass a token back and forth through futex words, N times:
 *   sleep: both sides block in FUTEX_WAIT between turns, so every turn wakes a
 *          sleeping thread (what a blocking uffd handler pays per fault, twice:
 *          kernel -> handler, handler -> faulting thread);
 *   spin:  the peer polls its word instead, so only one side ever sleeps.
 * On a VM whose idle vCPUs halt, the sleep figure is dominated by the
 * hypervisor waking the vCPU, and it is what any handler that sleeps between
 * faults pays; docs/performance.md explains how Faultline's numbers follow.
 *
 * Usage: faultline_wake_probe [--rounds N]   (default 5000)
 */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

struct probe {
  _Atomic int to_peer;   /* turn number the main thread handed over */
  _Atomic int to_main;   /* turn number the peer handed back */
  int peer_spins;
  int rounds;
};

static void wait_while(_Atomic int* word, int value) {
  while (atomic_load(word) == value) syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, value, NULL, NULL, 0);
}

static void wake_one(_Atomic int* word) { syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0); }

static void* peer_main(void* arg) {
  struct probe* p = arg;
  for (int turn = 1; turn <= p->rounds; turn++) {
    if (p->peer_spins) {
      while (atomic_load(&p->to_peer) != turn) {
      }
    } else {
      wait_while(&p->to_peer, turn - 1);
    }
    atomic_store(&p->to_main, turn);
    wake_one(&p->to_main);
  }
  return NULL;
}

static uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* Mean round trip in ns, or 0 if the thread could not start. */
static uint64_t round_trip_ns(int rounds, int peer_spins) {
  struct probe p;
  memset(&p, 0, sizeof(p));
  p.rounds = rounds;
  p.peer_spins = peer_spins;
  pthread_t peer;
  if (pthread_create(&peer, NULL, peer_main, &p) != 0) return 0;
  uint64_t start = now_ns();
  for (int turn = 1; turn <= rounds; turn++) {
    atomic_store(&p.to_peer, turn);
    wake_one(&p.to_peer);
    wait_while(&p.to_main, turn - 1);
  }
  uint64_t elapsed = now_ns() - start;
  pthread_join(peer, NULL);
  return elapsed / (uint64_t)rounds;
}

int main(int argc, char** argv) {
  int rounds = 5000;
  if (argc == 3 && strcmp(argv[1], "--rounds") == 0) {
    rounds = atoi(argv[2]);
  } else if (argc != 1) {
    fprintf(stderr, "usage: faultline_wake_probe [--rounds N]\n");
    return 2;
  }
  if (rounds < 1 || rounds > 10000000) {
    fprintf(stderr, "faultline_wake_probe: --rounds must be 1..10000000\n");
    return 2;
  }
  uint64_t sleep_ns = round_trip_ns(rounds, 0);
  uint64_t spin_ns = round_trip_ns(rounds, 1);
  if (sleep_ns == 0 || spin_ns == 0) {
    fprintf(stderr, "faultline_wake_probe: cannot start a thread\n");
    return 1;
  }
  printf("{\"rounds\":%d,\"sleepRoundTripNs\":%llu,\"spinRoundTripNs\":%llu}\n", rounds, (unsigned long long)sleep_ns,
         (unsigned long long)spin_ns);
  return 0;
}
