/* Process-startup timer.
 *
 *   spawn RUNS WARMUP label libdir prog [label libdir prog ...]
 *
 * For i in 1..RUNS, spawns each configuration once in turn (interleaved:
 * A B C D A B C D ...) with LD_LIBRARY_PATH=libdir, and measures the wall time
 * from posix_spawn to waitpid (CLOCK_MONOTONIC) and the child's own CPU time
 * (user+sys from wait4).  Prints one line per configuration:
 *   label=... wall_med_us=... wall_p10_us=... wall_p90_us=... cpu_med_us=...
 */
#define _GNU_SOURCE
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p)
{
    qsort(v, n, sizeof *v, cmpd);
    double idx = p * (n - 1);
    int lo = (int)idx;
    if (lo + 1 >= n)
        return v[n - 1];
    return v[lo] + (v[lo + 1] - v[lo]) * (idx - lo);
}

struct cfg {
    const char *label;
    char **env;
    char *argv[2];
    double *wall, *cpu;
    int failed;
};

static char **make_env(const char *libdir)
{
    int n = 0;
    while (environ[n])
        n++;
    char **env = calloc(n + 2, sizeof *env);
    int k = 0;
    for (int i = 0; i < n; i++)
        if (strncmp(environ[i], "LD_LIBRARY_PATH=", 16) && strncmp(environ[i], "LD_PRELOAD=", 11))
            env[k++] = environ[i];
    char *e = malloc(strlen(libdir) + 20);
    sprintf(e, "LD_LIBRARY_PATH=%s", libdir);
    env[k++] = e;
    env[k] = NULL;
    return env;
}

static int run1(struct cfg *c, double *wall, double *cpu)
{
    struct timespec t0, t1;
    pid_t pid;
    int st;
    struct rusage ru;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (posix_spawn(&pid, c->argv[0], NULL, NULL, c->argv, c->env))
        return -1;
    if (wait4(pid, &st, 0, &ru) != pid)
        return -1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (!WIFEXITED(st) || WEXITSTATUS(st))
        return -1;
    *wall = (t1.tv_sec - t0.tv_sec) * 1e6 + (t1.tv_nsec - t0.tv_nsec) * 1e-3;
    *cpu = ru.ru_utime.tv_sec * 1e6 + ru.ru_utime.tv_usec + ru.ru_stime.tv_sec * 1e6 + ru.ru_stime.tv_usec;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 6 || (argc - 3) % 3) {
        fprintf(stderr, "usage: spawn RUNS WARMUP label libdir prog [...]\n");
        return 2;
    }
    int runs = atoi(argv[1]), warm = atoi(argv[2]);
    int nc = (argc - 3) / 3;
    struct cfg *c = calloc(nc, sizeof *c);
    for (int i = 0; i < nc; i++) {
        c[i].label = argv[3 + 3 * i];
        c[i].env = make_env(argv[4 + 3 * i]);
        c[i].argv[0] = argv[5 + 3 * i];
        c[i].wall = calloc(runs, sizeof(double));
        c[i].cpu = calloc(runs, sizeof(double));
    }
    int bad = 0;
    for (int r = -warm; r < runs; r++)
        for (int i = 0; i < nc; i++) {
            double w, u;
            if (c[i].failed)
                continue;
            if (run1(&c[i], &w, &u)) {
                fprintf(stderr, "spawn: %s (%s) failed\n", c[i].label, c[i].argv[0]);
                c[i].failed = bad = 1;
                continue;
            }
            if (r >= 0) {
                c[i].wall[r] = w;
                c[i].cpu[r] = u;
            }
        }
    for (int i = 0; i < nc; i++)
        if (c[i].failed)
            printf("label=%s status=FAIL\n", c[i].label);
        else
            printf("label=%s wall_med_us=%.1f wall_p10_us=%.1f wall_p90_us=%.1f cpu_med_us=%.1f\n",
               c[i].label, pct(c[i].wall, runs, 0.5), pct(c[i].wall, runs, 0.1),
               pct(c[i].wall, runs, 0.9), pct(c[i].cpu, runs, 0.5));
    return bad;
}
