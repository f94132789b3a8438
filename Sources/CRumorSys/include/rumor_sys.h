#ifndef RUMOR_SYS_H
#define RUMOR_SYS_H

#include <stddef.h>
#include <stdint.h>

/// Creates a non-blocking, close-on-exec eventfd used to wake the event loop. Returns -1 and sets errno on failure.
int rumor_eventfd(void);

/// Adds one to an eventfd (wakes a poll on it). Returns 0 or -1 with errno.
int rumor_eventfd_signal(int fd);

/// Reads and clears an eventfd's counter. Returns 0, or -1 with errno (EAGAIN when it was not signalled).
int rumor_eventfd_drain(int fd);

/// Makes stdout line-buffered even when it is a pipe, so scripts see each line as it is printed.
void rumor_stdout_line_buffered(void);

/// Flushes stdout.
void rumor_flush_stdout(void);

#endif
