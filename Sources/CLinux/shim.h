#ifndef JOBGATE_CLINUX_SHIM_H
#define JOBGATE_CLINUX_SHIM_H

/* Linux-only system interfaces the Glibc module does not export to Swift. */
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

/* accept4 is a GNU extension, hidden unless _GNU_SOURCE was set when glibc's headers were first read. */
extern int accept4(int fd, struct sockaddr *address, socklen_t *length, int flags);

#endif
