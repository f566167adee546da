/*
 * gslb.server._batchio: a UDP listener's wake-up in one recvmmsg and a
 * sendmmsg per group of replies, instead of a recvfrom and a sendto per
 * datagram.
 *
 * The pure-Python loop it replaces is gslb/server/batchio.py:serve_pure();
 * both do exactly this, and the tests run both:
 *
 *   receive up to `batch` datagrams (each cut at the arena's slot size);
 *   for each, in order: reply = answer(data, host, transport)
 *     (host: the sender's address as text, as socket.recvfrom gives it;
 *     the same str object as the datagram before's when from the same address);
 *   a reply that is not None is sent to the sender, `send_batch` at a time;
 *   return how many replies the kernel did not take.
 *
 * A datagram's bytes are read into `arena` (a bytearray of batch * slot
 * bytes the caller keeps), so nothing is allocated per wake-up but the
 * Python objects handed to `answer`. Errors: a receive error other than
 * "would block" (an ICMP error queued for an earlier reply) is skipped, as
 * the pure loop does; a send error loses that one reply, counted; an
 * exception from `answer` is raised after the replies already made are sent.
 */
#define _GNU_SOURCE
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#define MAX_BATCH 256

/* Send msgs[0..count) with as few sendmmsg calls as the kernel allows; a
 * message it refuses is skipped. Returns how many were not sent. */
static Py_ssize_t send_all(int fd, struct mmsghdr *msgs, unsigned int count)
{
    Py_ssize_t failed = 0;
    unsigned int done = 0;
    while (done < count) {
        int sent = sendmmsg(fd, msgs + done, count - done, MSG_DONTWAIT);
        if (sent > 0) {
            done += (unsigned int)sent;
        } else if (sent < 0 && errno == EINTR) {
            continue;
        } else { /* this message failed: buffer full, unreachable, ... */
            failed++;
            done++;
        }
    }
    return failed;
}

/* The last sender's address and its text (a new reference kept here): a
 * datagram from the same address as the one before, as from a busy
 * resolver, gets the same str object, without formatting one again (and
 * with its hash already computed for the reply cache's key). Scoped IPv6
 * addresses are not kept. The module is single-phase: one interpreter. */
static struct {
    sa_family_t family; /* 0: none kept */
    unsigned char address[16];
    PyObject *text;
} last_host;

static PyObject *kept_host(sa_family_t family, const void *address, size_t size)
{
    if (last_host.family == family && memcmp(last_host.address, address, size) == 0) {
        Py_INCREF(last_host.text);
        return last_host.text;
    }
    return NULL;
}

static PyObject *keep_host(sa_family_t family, const void *address, size_t size, PyObject *text)
{
    if (text != NULL) {
        Py_XDECREF(last_host.text);
        Py_INCREF(text);
        last_host.text = text;
        last_host.family = family;
        memcpy(last_host.address, address, size);
    }
    return text;
}

/* The sender's address as text, as socket.recvfrom() reports it. */
static PyObject *host_text(const struct sockaddr_storage *name, socklen_t len)
{
    char text[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
    PyObject *kept;
    if (name->ss_family == AF_INET) {
        const struct sockaddr_in *in4 = (const struct sockaddr_in *)name;
        const size_t size = sizeof in4->sin_addr;
        if ((kept = kept_host(AF_INET, &in4->sin_addr, size)) != NULL)
            return kept;
        if (inet_ntop(AF_INET, &in4->sin_addr, text, sizeof text) != NULL)
            return keep_host(AF_INET, &in4->sin_addr, size, PyUnicode_FromString(text));
    } else if (name->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)name;
        const size_t size = sizeof in6->sin6_addr;
        if (in6->sin6_scope_id == 0) {
            if ((kept = kept_host(AF_INET6, &in6->sin6_addr, size)) != NULL)
                return kept;
            if (inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text) != NULL)
                return keep_host(AF_INET6, &in6->sin6_addr, size, PyUnicode_FromString(text));
        } else if (getnameinfo((const struct sockaddr *)name, len, text, sizeof text, NULL, 0,
                               NI_NUMERICHOST) == 0) {
            return PyUnicode_FromString(text); /* fe80::1%eth0 */
        }
    }
    PyErr_Format(PyExc_OSError, "batchio: a datagram from address family %d",
                 (int)name->ss_family);
    return NULL;
}

static PyObject *serve(PyObject *self, PyObject *args)
{
    int fd;
    Py_buffer arena;
    PyObject *answer, *transport;
    unsigned int batch, send_batch;
    (void)self;
    if (!PyArg_ParseTuple(args, "iw*OOII:serve", &fd, &arena, &answer, &transport, &batch,
                          &send_batch))
        return NULL;
    if (batch == 0 || batch > MAX_BATCH || send_batch == 0 || send_batch > batch ||
        arena.len < (Py_ssize_t)batch) {
        PyBuffer_Release(&arena);
        PyErr_SetString(PyExc_ValueError, "batchio: 0 < send_batch <= batch <= 256, arena >= batch");
        return NULL;
    }
    size_t slot = (size_t)arena.len / batch;

    struct sockaddr_storage names[MAX_BATCH];
    struct iovec in_iov[MAX_BATCH], out_iov[MAX_BATCH];
    struct mmsghdr in[MAX_BATCH], out[MAX_BATCH];
    PyObject *held[MAX_BATCH]; /* replies whose bytes the kernel has not copied yet */
    memset(in, 0, sizeof(struct mmsghdr) * batch);
    for (unsigned int i = 0; i < batch; i++) {
        in_iov[i].iov_base = (char *)arena.buf + i * slot;
        in_iov[i].iov_len = slot;
        in[i].msg_hdr.msg_name = &names[i];
        in[i].msg_hdr.msg_namelen = sizeof names[i];
        in[i].msg_hdr.msg_iov = &in_iov[i];
        in[i].msg_hdr.msg_iovlen = 1;
    }

    int got, tries = 0;
    for (;;) {
        got = recvmmsg(fd, in, batch, MSG_DONTWAIT, NULL);
        if (got >= 0 || errno == EAGAIN || errno == EWOULDBLOCK)
            break;
        /* EINTR, or an ICMP error queued for an earlier reply (reading it
         * clears it): try again, a few times. */
        if (++tries == 8)
            break;
    }
    if (got < 0)
        got = 0;

    Py_ssize_t failed = 0;
    unsigned int pending = 0;
    PyObject *error = NULL; /* set: answer raised; send what is made, then raise */
    for (int i = 0; i < got && error == NULL; i++) {
        PyObject *data = PyBytes_FromStringAndSize(in_iov[i].iov_base, in[i].msg_len);
        PyObject *host = data ? host_text(&names[i], in[i].msg_hdr.msg_namelen) : NULL;
        PyObject *reply = NULL;
        if (host != NULL)
            reply = PyObject_CallFunctionObjArgs(answer, data, host, transport, NULL);
        Py_XDECREF(data);
        Py_XDECREF(host);
        if (reply == NULL) {
            error = Py_None; /* the exception stays set */
            break;
        }
        if (reply == Py_None) {
            Py_DECREF(reply);
            continue;
        }
        if (!PyBytes_Check(reply)) {
            Py_DECREF(reply);
            PyErr_SetString(PyExc_TypeError, "batchio: answer() returned neither bytes nor None");
            error = Py_None;
            break;
        }
        memset(&out[pending], 0, sizeof out[pending]);
        out_iov[pending].iov_base = PyBytes_AS_STRING(reply);
        out_iov[pending].iov_len = (size_t)PyBytes_GET_SIZE(reply);
        out[pending].msg_hdr.msg_name = &names[i];
        out[pending].msg_hdr.msg_namelen = in[i].msg_hdr.msg_namelen;
        out[pending].msg_hdr.msg_iov = &out_iov[pending];
        out[pending].msg_hdr.msg_iovlen = 1;
        held[pending++] = reply;
        if (pending == send_batch) {
            failed += send_all(fd, out, pending);
            while (pending > 0)
                Py_DECREF(held[--pending]);
        }
    }
    if (pending > 0) {
        PyObject *type, *value, *trace;
        PyErr_Fetch(&type, &value, &trace); /* sending must not see a pending exception */
        failed += send_all(fd, out, pending);
        PyErr_Restore(type, value, trace);
        while (pending > 0)
            Py_DECREF(held[--pending]);
    }
    PyBuffer_Release(&arena);
    if (error != NULL)
        return NULL;
    return Py_BuildValue("(in)", got, failed);
}

static PyMethodDef methods[] = {
    {"serve", serve, METH_VARARGS,
     "serve(fd, arena, answer, transport, batch, send_batch) -> (received, send_failures)\n\n"
     "One wake-up of a UDP listener: recvmmsg up to `batch` datagrams into `arena`,\n"
     "answer each, sendmmsg the replies `send_batch` at a time."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    .m_base = PyModuleDef_HEAD_INIT,
    .m_name = "_batchio",
    .m_doc = "recvmmsg/sendmmsg for gslb's UDP listener (source: gslb/server/_batchio.c)",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC PyInit__batchio(void)
{
    return PyModule_Create(&module);
}
