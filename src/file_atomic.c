/* file_atomic.c - writes a whole buffer to a file atomically: a temporary
 * file beside it, fsynced and renamed over it (as modelfile_write.c does),
 * so that path holds the old contents or the new, never a mix. */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bp_status bp__write_atomic(const char *path, const void *data, size_t len)
{
    size_t n = strlen(path);
    char *tmp = bp__calloc(n + sizeof ".tmp.XXXXXX", 1);
    if (!tmp) return BP_ERR_NOMEM;
    memcpy(tmp, path, n);
    memcpy(tmp + n, ".tmp.XXXXXX", sizeof ".tmp.XXXXXX");
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int err = errno;
        free(tmp);
        return bp__fail(BP_ERR_IO, "%s: cannot create a temporary file beside it: %s", path,
                        strerror(err));
    }
    struct stat st;
    mode_t mode = stat(path, &st) == 0 && S_ISREG(st.st_mode) ? st.st_mode & 07777 : 0644;
    const char *step = "chmod";
    FILE *f = fchmod(fd, mode) == 0 ? (step = "write", fdopen(fd, "wb")) : NULL;
    bool ok = f && fwrite(data, 1, len, f) == len && (step = "flush", fflush(f) == 0) &&
              (step = "fsync", fsync(fileno(f)) == 0);
    int err = errno;
    if (!f) close(fd);
    else if (fclose(f) != 0 && ok) ok = false, step = "close", err = errno;
    if (ok && rename(tmp, path) != 0) ok = false, step = "rename", err = errno;
    if (!ok) unlink(tmp);
    free(tmp);
    if (!ok) return bp__fail(BP_ERR_IO, "%s: %s failed: %s (the file is unchanged)", path, step,
                             strerror(err));
    return BP_OK;
}
