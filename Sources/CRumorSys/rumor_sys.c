#define _GNU_SOURCE
#include "rumor_sys.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
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

/* Fills the message headers for `count` datagrams field by field (no memset of the whole array: this runs for
   every batch, and a receive offers all 64 slots). */
static void rumor_prepare(struct mmsghdr *messages, struct iovec *vectors, rumor_datagram *batch, unsigned count,
                          int receiving) {
    for (unsigned i = 0; i < count; i++) {
        vectors[i].iov_base = batch[i].bytes;
        vectors[i].iov_len = batch[i].length;
        messages[i].msg_hdr.msg_name = batch[i].address;
        messages[i].msg_hdr.msg_namelen = receiving ? sizeof(struct sockaddr_storage) : batch[i].address_length;
        messages[i].msg_hdr.msg_iov = &vectors[i];
        messages[i].msg_hdr.msg_iovlen = 1;
        messages[i].msg_hdr.msg_control = NULL;
        messages[i].msg_hdr.msg_controllen = 0;
        messages[i].msg_hdr.msg_flags = 0;
        messages[i].msg_len = 0;
    }
}

int rumor_send_batch(int fd, rumor_datagram *batch, unsigned count) {
    struct mmsghdr messages[RUMOR_BATCH_MAX];
    struct iovec vectors[RUMOR_BATCH_MAX];
    if (count > RUMOR_BATCH_MAX) count = RUMOR_BATCH_MAX;
    if (count == 0) return 0;
    rumor_prepare(messages, vectors, batch, count, 0);
    int sent;
    do {
        sent = sendmmsg(fd, messages, count, MSG_DONTWAIT);
    } while (sent < 0 && errno == EINTR);
    return sent;
}

int rumor_receive_batch(int fd, rumor_datagram *batch, unsigned count) {
    struct mmsghdr messages[RUMOR_BATCH_MAX];
    struct iovec vectors[RUMOR_BATCH_MAX];
    if (count > RUMOR_BATCH_MAX) count = RUMOR_BATCH_MAX;
    if (count == 0) return 0;
    rumor_prepare(messages, vectors, batch, count, 1);
    int received;
    do {
        received = recvmmsg(fd, messages, count, MSG_DONTWAIT, NULL);
    } while (received < 0 && errno == EINTR);
    if (received < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
    for (int i = 0; i < received; i++) {
        batch[i].length = messages[i].msg_len;
        batch[i].address_length = messages[i].msg_hdr.msg_namelen;
        batch[i].truncated = (messages[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
    }
    return received;
}

int rumor_thread_id(void) {
    return (int)gettid();
}

static cpu_set_t rumor_started_cpus;
static int rumor_started_known = 0;

int rumor_allowed_cpus(int *cpus, int capacity) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0) return -1;
    if (!rumor_started_known) {
        rumor_started_cpus = set;
        rumor_started_known = 1;
    }
    int count = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE && count < capacity; cpu++) {
        if (CPU_ISSET(cpu, &set)) cpus[count++] = cpu;
    }
    return count;
}

int rumor_pin_thread(int tid, int cpu) {
    cpu_set_t set;
    if (cpu < 0) {
        if (!rumor_started_known) { errno = EINVAL; return -1; }
        set = rumor_started_cpus;
    } else {
        if (cpu >= CPU_SETSIZE) { errno = EINVAL; return -1; }
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
    }
    return sched_setaffinity(tid, sizeof set, &set);
}

static void rumor_stop_signal_set(sigset_t *set) {
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
}

/* Blocks (SIG_BLOCK) or unblocks (SIG_UNBLOCK) SIGINT and SIGTERM in the calling thread; 0, or -1 with errno. */
static int rumor_mask_stop_signals(int how) {
    sigset_t set;
    rumor_stop_signal_set(&set);
    int status = pthread_sigmask(how, &set, NULL);
    if (status != 0) {
        errno = status;
        return -1;
    }
    return 0;
}

int rumor_block_stop_signals(void) { return rumor_mask_stop_signals(SIG_BLOCK); }

int rumor_unblock_stop_signals(void) { return rumor_mask_stop_signals(SIG_UNBLOCK); }

int rumor_wait_stop_signal(void) {
    sigset_t set;
    rumor_stop_signal_set(&set);
    int number = 0;
    int status = sigwait(&set, &number);
    if (status != 0) {
        errno = status;
        return -1;
    }
    return number;
}
