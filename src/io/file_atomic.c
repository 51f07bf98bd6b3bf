/* file_atomic.c - the one way the library writes a file (models, checkpoints,
 * ONNX, C export) and the CLI writes its outputs (bp_file_*, backprop.h).
 *
 * A regular file (or a path that does not exist yet) is replaced atomically:
 * a temporary file in the same directory, written, flushed, fsynced, renamed
 * over the target, then the directory fsynced; the path holds the old bytes
 * or the new, never a mix. A symbolic link is followed to the file it names,
 * which is replaced that way; the link stays. Anything else (a FIFO, a
 * character or block device) is written in place, as the shell's `>` would:
 * renaming over it would replace the node (a reader of the FIFO would wait
 * forever, /dev/null would become a file). A new file gets 0666 less the
 * umask, as fopen gives; a replaced file keeps its permission bits. */
#define _GNU_SOURCE /* fopencookie: the first failing write's errno */
#include "internal.h"
#include "file_atomic.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct bp_file {
    FILE *f;        /* the caller's stream: a cookie stream over fd */
    int fd;
    int err;        /* errno of the first failed write(2), 0 while none failed */
    bool in_place;  /* a FIFO or device, written where it is */
    char *path;     /* as given, for messages */
    char *target;   /* the file written: path with its symbolic links followed */
    char *tmp;      /* the temporary file beside target; NULL when in place */
};

/* ---------------------------------------------------------------- paths */

/* The directory part of p ("." when there is none), malloc'ed. */
static char *dir_of(const char *p)
{
    const char *slash = strrchr(p, '/');
    if (!slash) return bp__strdup(".");
    size_t n = slash == p ? 1 : (size_t)(slash - p);
    char *d = bp__calloc(n + 1, 1);
    if (d) memcpy(d, p, n);
    return d;
}

/* link's target as a path: absolute as it is, relative from link's directory. */
static char *link_target(const char *link, const char *to)
{
    if (to[0] == '/') return bp__strdup(to);
    const char *slash = strrchr(link, '/');
    size_t n = slash ? (size_t)(slash - link) + 1 : 0, m = strlen(to);
    char *t = bp__calloc(n + m + 1, 1);
    if (t) memcpy(t, link, n), memcpy(t + n, to, m);
    return t;
}

/* path with the chain of symbolic links at its last component followed (the
 * last link's target need not exist: it is then created, as fopen would).
 * NULL with errno set, or with errno 0 when out of memory. */
static char *follow_links(const char *path)
{
    char *cur = bp__strdup(path);
    for (int hops = 0; cur; hops++) {
        struct stat s;
        if (lstat(cur, &s) != 0 || !S_ISLNK(s.st_mode)) return cur;
        if (hops == 40) { /* the kernel's own limit (ELOOP) */
            free(cur);
            errno = ELOOP;
            return NULL;
        }
        size_t cap = s.st_size > 0 ? (size_t)s.st_size + 1 : PATH_MAX;
        char *to = bp__calloc(cap, 1);
        ssize_t n = to ? readlink(cur, to, cap) : -1;
        char *next = n >= 0 && (size_t)n < cap ? link_target(cur, to) : NULL;
        int err = to && n < 0 ? errno : to && (size_t)n >= cap ? EAGAIN : 0; /* changed meanwhile */
        free(to), free(cur);
        cur = next;
        if (!cur) errno = err;
    }
    return NULL;
}

/* ------------------------------------------------------------- the stream */

/* The stream's writes go straight to fd; the first error's errno is kept, so
 * that the commit can say why even when the caller ignored fprintf's result. */
static ssize_t cookie_write(void *cookie, const char *buf, size_t n)
{
    bp_file *bf = cookie;
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(bf->fd, buf + done, n - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            if (!bf->err) bf->err = w < 0 ? errno : EIO;
            return (ssize_t)done; /* short: the stream's error flag (never negative) */
        }
        done += (size_t)w;
    }
    return (ssize_t)done;
}

/* A temporary name beside target that did not exist, opened with O_EXCL and
 * mode 0666, so that the kernel applies the umask (and a default ACL) as for
 * any new file. mkstemp would make it 0600. */
static int create_temp(bp_file *bf)
{
    static const char digits[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    static atomic_ulong counter; /* threads saving at once draw different names */
    size_t n = strlen(bf->target);
    if (!(bf->tmp = bp__calloc(n + sizeof ".tmp.XXXXXX", 1))) return -1;
    memcpy(bf->tmp, bf->target, n);
    memcpy(bf->tmp + n, ".tmp.", 5);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^ ((uint64_t)getpid() << 20) ^
                 (uint64_t)(uintptr_t)bf;
    for (int tries = 0; tries < 100; tries++) {
        x += 0x9e3779b97f4a7c15ULL * (atomic_fetch_add(&counter, 1) + 1); /* splitmix64 */
        uint64_t z = x;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        z ^= z >> 31;
        for (int i = 0; i < 6; i++, z /= 62) bf->tmp[n + 5 + i] = digits[z % 62];
        int fd = open(bf->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST) return fd;
    }
    return -1; /* errno EEXIST */
}

static bp_status fail_open(bp_file *bf, const char *what, int err)
{
    bp_status st = err ? bp__fail(BP_ERR_IO, "%s: %s: %s", bf->path, what, strerror(err))
                       : BP_ERR_NOMEM; /* bp__calloc said so */
    free(bf->tmp), free(bf->target), free(bf->path), free(bf);
    return st;
}

bp_status bp_file_open(bp_file **out, const char *path)
{
    if (!out) return bp__fail(BP_ERR_INVALID, "file: out is NULL");
    *out = NULL;
    if (!path || !*path) return bp__fail(BP_ERR_INVALID, "file: the path is %s", path ? "empty" : "NULL");
    bp_file *bf = bp__calloc(1, sizeof *bf);
    if (!bf) return BP_ERR_NOMEM;
    bf->fd = -1;
    if (!(bf->path = bp__strdup(path))) return fail_open(bf, "", 0);
    errno = 0;
    if (!(bf->target = follow_links(path))) return fail_open(bf, "cannot follow the symbolic link", errno);
    struct stat s;
    bool exists = stat(bf->target, &s) == 0;
    if (exists && S_ISDIR(s.st_mode)) return fail_open(bf, "cannot write", EISDIR);
    bf->in_place = exists && !S_ISREG(s.st_mode);
    if (bf->in_place) {
        /* a FIFO waits here for its reader, as the shell's `>` does */
        bf->fd = open(bf->target, O_WRONLY | O_NOCTTY | O_CLOEXEC);
        if (bf->fd < 0) return fail_open(bf, "cannot open", errno);
    } else {
        errno = 0;
        bf->fd = create_temp(bf);
        if (bf->fd < 0) return fail_open(bf, "cannot create a temporary file beside it", errno);
        /* a replaced file keeps its permission bits, as with fopen's truncation */
        if (exists && fchmod(bf->fd, s.st_mode & 07777) != 0) {
            int err = errno;
            close(bf->fd), unlink(bf->tmp);
            return fail_open(bf, "chmod of the temporary file failed", err);
        }
    }
    cookie_io_functions_t io = {.write = cookie_write};
    if (!(bf->f = fopencookie(bf, "w", io))) {
        int err = errno;
        close(bf->fd);
        if (bf->tmp) unlink(bf->tmp);
        return fail_open(bf, "cannot open a stream", err ? err : ENOMEM);
    }
    *out = bf;
    return BP_OK;
}

FILE *bp_file_stream(bp_file *f) { return f ? f->f : NULL; }

static void file_free(bp_file *bf)
{
    free(bf->tmp), free(bf->target), free(bf->path), free(bf);
}

void bp_file_abort(bp_file *bf)
{
    if (!bf) return;
    fclose(bf->f);
    close(bf->fd);
    if (bf->tmp) unlink(bf->tmp);
    file_free(bf);
}

/* Makes the rename durable. Filesystems that cannot sync a directory say EINVAL. */
static bp_status sync_dir(const bp_file *bf)
{
    char *dir = dir_of(bf->target);
    if (!dir) return BP_ERR_NOMEM;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = fd < 0 ? -1 : fsync(fd), err = errno;
    if (fd >= 0) close(fd);
    bp_status st = rc == 0 || (fd >= 0 && err == EINVAL) ? BP_OK
                   : bp__fail(BP_ERR_IO, "%s: %s of directory %s: %s", bf->path,
                              fd < 0 ? "open" : "fsync", dir, strerror(err));
    free(dir);
    return st;
}

bp_status bp_file_commit(bp_file *bf)
{
    if (!bf) return bp__fail(BP_ERR_INVALID, "file: commit of NULL");
    const char *step = "write";
    errno = 0;
    bool ok = fflush(bf->f) == 0 && !ferror(bf->f) && !bf->err;
    int err = bf->err ? bf->err : errno ? errno : EIO;
    fclose(bf->f); /* the cookie stream: nothing left to write, fd stays open */
    bf->f = NULL;
    /* fsync of a FIFO or a character device says EINVAL: nothing to make durable */
    if (ok && fsync(bf->fd) != 0 && !(bf->in_place && (errno == EINVAL || errno == EROFS)))
        ok = false, step = "fsync", err = errno;
    if (close(bf->fd) != 0 && ok) ok = false, step = "close", err = errno;
    bf->fd = -1;
    if (ok && bf->tmp && rename(bf->tmp, bf->target) != 0) ok = false, step = "rename", err = errno;
    bp_status st = BP_OK;
    if (!ok && bf->tmp) {
        unlink(bf->tmp);
        st = bp__fail(BP_ERR_IO, "%s: %s failed: %s (the file is unchanged)", bf->path, step, strerror(err));
    } else if (!ok) {
        st = bp__fail(BP_ERR_IO, "%s: %s failed: %s", bf->path, step, strerror(err));
    } else if (bf->tmp) {
        st = sync_dir(bf);
    }
    file_free(bf);
    return st;
}

bp_status bp_file_write(const char *path, const void *data, size_t len)
{
    bp_file *f;
    bp_status st = bp_file_open(&f, path);
    if (st) return st;
    fwrite(data, 1, len, f->f); /* a failure is the commit's to report */
    return bp_file_commit(f);
}

bp_status bp__file_write_with(const char *path, bool (*fill)(FILE *f, const void *ctx), const void *ctx)
{
    bp_file *f;
    bp_status st = bp_file_open(&f, path);
    if (st) return st;
    if (!fill(f->f, ctx) && !f->err && !ferror(f->f)) { /* not a write error: the caller's own */
        bp_file_abort(f);
        return bp__fail(BP_ERR_IO, "%s: write failed (the file is unchanged)", path);
    }
    return bp_file_commit(f);
}
