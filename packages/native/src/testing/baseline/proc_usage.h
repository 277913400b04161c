/*
 * What a bench C program reports about its own process: CPU time (every
 * thread, so a spinning handler thread shows its price) and resident memory.
 */
#ifndef FAULTLINE_PROC_USAGE_H
#define FAULTLINE_PROC_USAGE_H

#include <stdint.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

/* User + system CPU of this whole process so far, in ns. */
static inline uint64_t process_cpu_ns(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return ((uint64_t)u.ru_utime.tv_sec + (uint64_t)u.ru_stime.tv_sec) * 1000000000ull +
         ((uint64_t)u.ru_utime.tv_usec + (uint64_t)u.ru_stime.tv_usec) * 1000ull;
}

/* Peak RSS of this process (getrusage), KiB. */
static inline long process_max_rss_kb(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

/* Current RSS of this process, KiB; -1 when /proc is not readable. */
static inline long process_rss_kb(void) {
  FILE* f = fopen("/proc/self/statm", "r");
  long size = 0, resident = 0;
  if (f == NULL) return -1;
  if (fscanf(f, "%ld %ld", &size, &resident) != 2) resident = -1;
  fclose(f);
  return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

#endif /* FAULTLINE_PROC_USAGE_H */
