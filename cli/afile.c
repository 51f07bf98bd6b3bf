/* afile.c - atomic file writes: a temporary file beside the target, fsynced
 * and renamed over it, so that a reader (a browser showing the plot, a
 * script reading predictions) sees the old file or the new one, never half. */
#include "report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int afile_open(afile *a, const char *path, char *err, size_t errlen)
{
    memset(a, 0, sizeof *a);
    size_t len = strlen(path);
    a->tmp = malloc(len + 8);
    a->path = malloc(len + 1);
    if (!a->tmp || !a->path) {
        snprintf(err, errlen, "%s: out of memory", path);
        free(a->tmp), free(a->path);
        a->tmp = a->path = NULL;
        return -1;
    }
    memcpy(a->path, path, len + 1);
    snprintf(a->tmp, len + 8, "%s.XXXXXX", path);
    int fd = mkstemp(a->tmp);
    if (fd < 0 || !(a->f = fdopen(fd, "w"))) {
        snprintf(err, errlen, "%s: cannot create: %s", path, strerror(errno));
        if (fd >= 0) close(fd), unlink(a->tmp);
        free(a->tmp), free(a->path);
        a->tmp = a->path = NULL;
        return -1;
    }
    return 0;
}

int afile_commit(afile *a, char *err, size_t errlen)
{
    errno = 0;
    int bad = fflush(a->f) != 0 || ferror(a->f) || fsync(fileno(a->f)) != 0;
    bad |= fclose(a->f) != 0;
    a->f = NULL;
    int saved = errno;
    if (!bad && rename(a->tmp, a->path) == 0) {
        free(a->tmp), free(a->path);
        a->tmp = a->path = NULL;
        return 0;
    }
    snprintf(err, errlen, "%s: cannot write: %s", a->path, strerror(saved ? saved : errno));
    afile_abort(a);
    return -1;
}

void afile_abort(afile *a)
{
    if (a->f) fclose(a->f);
    if (a->tmp) unlink(a->tmp);
    free(a->tmp), free(a->path);
    memset(a, 0, sizeof *a);
}
