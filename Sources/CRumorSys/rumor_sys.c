#define _GNU_SOURCE
#include "rumor_sys.h"

#include <sys/eventfd.h>
#include <stdio.h>
#include <unistd.h>

int rumor_eventfd(void) {
    return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

int rumor_eventfd_signal(int fd) {
    eventfd_t one = 1;
    return eventfd_write(fd, one);
}

int rumor_eventfd_drain(int fd) {
    eventfd_t value = 0;
    return eventfd_read(fd, &value);
}

void rumor_stdout_line_buffered(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
}

void rumor_flush_stdout(void) {
    fflush(stdout);
}
