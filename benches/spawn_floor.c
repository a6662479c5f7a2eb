/*
 * The floor of a fleet's start, without procmux: spawns N `sleep 30`s in a loop (fork-style
 * clone3, setpgid, execve), with or without a cgroup v2 per child made the way procmux makes
 * one (mkdirat, openat of cgroup.procs and cgroup.events, CLONE_INTO_CGROUP), and prints the
 * loop's time and the time until every child has exec'd. The figures are in the docs of
 * src/supervisor/vfork/mod.rs and in the README's performance section.
 *
 *   cc -O2 -o /tmp/spawn_floor benches/spawn_floor.c
 *   /tmp/spawn_floor DIR 0 100    # no cgroups (DIR unused but must exist)
 *   /tmp/spawn_floor DIR 1 100    # a cgroup per child, under DIR (a cgroup v2 directory
 *                                 # this user may write, such as procmux's parent cgroup)
 *
 * Linux 5.7 or later, x86_64 or any architecture with SYS_clone3.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

/* Whether the process has exec'd sleep (its name says so). */
static int has_exec_d(pid_t pid) {
    char path[64], name[16];
    snprintf(path, sizeof path, "/proc/%d/comm", pid);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, name, sizeof name);
    close(fd);
    return n >= 5 && strncmp(name, "sleep", 5) == 0;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s CGROUP_DIR 0|1 COUNT\n", argv[0]);
        return 2;
    }
    int with_cgroups = atoi(argv[2]);
    int count = atoi(argv[3]);
    if (count < 1 || count > 10000) {
        fprintf(stderr, "COUNT: 1 to 10000\n");
        return 2;
    }
    /* Two descriptors stay open per child, as in procmux, which raises its limit the same way. */
    struct rlimit files;
    if (getrlimit(RLIMIT_NOFILE, &files) == 0) {
        files.rlim_cur = files.rlim_max;
        setrlimit(RLIMIT_NOFILE, &files);
    }
    char root[4096];
    snprintf(root, sizeof root, "%s/spawn-floor-%d", argv[1], getpid());
    if (with_cgroups && mkdir(root, 0755) != 0) {
        perror(root);
        return 1;
    }
    int root_fd = with_cgroups ? open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    pid_t *pids = calloc(count, sizeof *pids);
    char *args[] = {"sleep", "30", NULL};

    double began = seconds();
    for (int i = 0; i < count; i++) {
        struct clone_args clone = {.exit_signal = SIGCHLD};
        int dir = -1, procs = -1, events = -1;
        if (with_cgroups) {
            char name[32];
            snprintf(name, sizeof name, "run-%d", i);
            if (mkdirat(root_fd, name, 0755) != 0) {
                perror("mkdirat");
                return 1;
            }
            dir = openat(root_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            procs = openat(dir, "cgroup.procs", O_RDWR | O_CLOEXEC);
            events = openat(dir, "cgroup.events", O_RDONLY | O_CLOEXEC);
            clone.flags = CLONE_INTO_CGROUP;
            clone.cgroup = dir;
        }
        long pid = syscall(SYS_clone3, &clone, sizeof clone);
        if (pid == 0) {
            setpgid(0, 0);
            execve("/bin/sleep", args, environ);
            _exit(127);
        }
        if (pid < 0) {
            perror("clone3");
            return 1;
        }
        pids[i] = pid;
        if (dir >= 0)
            close(dir);
        /* procmux keeps these two open for the run's life; so does this loop. */
        (void)procs;
        (void)events;
    }
    double looped = seconds();
    for (int i = 0; i < count; i++)
        while (!has_exec_d(pids[i]))
            usleep(200);
    double all = seconds();
    printf("cgroups %d, %d spawns: loop %.1f ms, all exec'd %.1f ms\n", with_cgroups, count,
           (looped - began) * 1000, (all - began) * 1000);

    for (int i = 0; i < count; i++) {
        kill(pids[i], SIGKILL);
        waitpid(pids[i], NULL, 0);
    }
    if (with_cgroups) {
        for (int i = 0; i < count; i++) {
            char name[32];
            snprintf(name, sizeof name, "run-%d", i);
            /* A killed process leaves its cgroup a moment after it is reaped. */
            for (int tries = 0; unlinkat(root_fd, name, AT_REMOVEDIR) != 0 && tries < 100; tries++)
                usleep(1000);
        }
        rmdir(root);
    }
    return 0;
}
