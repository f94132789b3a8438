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

/// The calling thread's kernel id (gettid).
int rumor_thread_id(void);

/// Blocks SIGINT and SIGTERM in the calling thread (pthread_sigmask); threads it creates afterwards inherit the
/// mask. A blocked signal sent to the process stays pending until `rumor_wait_stop_signal` takes it, so none is
/// lost however early it comes. Returns 0, or -1 with errno.
int rumor_block_stop_signals(void);

/// Unblocks SIGINT and SIGTERM in the calling thread: a command that ends on them (`watch`) may have been spawned
/// with them blocked (Foundation's Process passes on a Dispatch thread's mask), and would never see them. Returns 0,
/// or -1 with errno.
int rumor_unblock_stop_signals(void);

/// Waits (sigwait) until SIGINT or SIGTERM is pending and takes it. Both MUST be blocked in every thread, or the
/// kernel may act on one in another thread instead. Returns the signal's number, or -1 with errno.
int rumor_wait_stop_signal(void);

/// One datagram of a batch for `rumor_send_batch` / `rumor_receive_batch`: where its bytes are, how many, and the
/// peer's address (read for a send, written by a receive).
typedef struct {
    void *bytes;
    /// Send: the datagram's length. Receive: the room at `bytes` going in, the datagram's length coming out.
    size_t length;
    /// A `struct sockaddr_storage` of the caller's (this header stays free of <sys/socket.h>, whose types the
    /// Glibc module owns).
    void *address;
    uint32_t address_length;
    /// Receive only: nonzero when the datagram was longer than the room given (the rest is discarded).
    int truncated;
} rumor_datagram;

/// The most datagrams one call moves.
#define RUMOR_BATCH_MAX 64

/// Sends up to `count` (at most RUMOR_BATCH_MAX) datagrams with one sendmmsg, without blocking. Returns how many
/// the kernel took (the first that many), or -1 with errno when it took none.
int rumor_send_batch(int fd, rumor_datagram *batch, unsigned count);

/// Receives up to `count` (at most RUMOR_BATCH_MAX) datagrams with one recvmmsg, without blocking. Returns how
/// many arrived (0 when none was waiting), or -1 with errno on another error.
int rumor_receive_batch(int fd, rumor_datagram *batch, unsigned count);

/// Confines thread `tid` (0: the calling thread) to CPU `cpu`, or to every CPU the process started with when `cpu`
/// is negative. Returns 0, or -1 with errno. The bench's round-trip section uses it to choose where each end of a
/// ping-pong runs.
int rumor_pin_thread(int tid, int cpu);

/// Writes up to `capacity` CPU numbers the calling thread may run on to `cpus`, ascending; returns how many, or -1.
/// The first call also remembers them as the set `rumor_pin_thread(tid, -1)` restores.
int rumor_allowed_cpus(int *cpus, int capacity);

#endif
