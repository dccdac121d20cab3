/* Test-only LD_PRELOAD shim: shifts the wall clock of the process it is
 * preloaded into by MIGCHECK_FAKETIME_OFFSET_MS milliseconds (clock_gettime
 * of the realtime clocks, gettimeofday, time), so a test server can run with
 * a skewed clock. Debian's libfaketime recurses inside redis-server's
 * jemalloc; this shim calls the kernel directly and never allocates.
 * Monotonic clocks are left alone. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static long long offset_ns;

__attribute__((constructor)) static void faketime_init(void) {
  const char* s = getenv("MIGCHECK_FAKETIME_OFFSET_MS");
  offset_ns = s ? atoll(s) * 1000000LL : 0;
}

static int real_clock_gettime(clockid_t id, struct timespec* ts) {
  return (int)syscall(SYS_clock_gettime, id, ts);
}

int clock_gettime(clockid_t id, struct timespec* ts) {
  int r = real_clock_gettime(id, ts);
  if (r == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE)) {
    long long ns = (long long)ts->tv_sec * 1000000000LL + ts->tv_nsec + offset_ns;
    ts->tv_sec = (time_t)(ns / 1000000000LL);
    ts->tv_nsec = (long)(ns % 1000000000LL);
  }
  return r;
}

int gettimeofday(struct timeval* tv, void* tz) {
  (void)tz;
  struct timespec ts;
  if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return -1;
  tv->tv_sec = ts.tv_sec;
  tv->tv_usec = ts.tv_nsec / 1000;
  return 0;
}

time_t time(time_t* out) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  if (out) *out = ts.tv_sec;
  return ts.tv_sec;
}
