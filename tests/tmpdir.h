/* tmpdir.h - a test's scratch folder: created by tmpdir_make, files named in
 * it by at(), read and written whole, removed with what it holds. */
#ifndef BP_TEST_TMPDIR_H
#define BP_TEST_TMPDIR_H

#include "test.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];

/* /tmp/bp_test_NAME.XXXXXX, made unique; 0 on success. */
static int tmpdir_make(const char *name)
{
    snprintf(dir, sizeof dir, "/tmp/bp_test_%.32s.XXXXXX", name);
    if (mkdtemp(dir)) return 0;
    perror("mkdtemp");
    return 1;
}

/* dir/name in a static buffer (one of 4, so a few can be live at once). */
static const char *at(const char *name)
{
    static char bufs[4][400];
    static int k;
    char *b = bufs[k++ % 4];
    snprintf(b, 400, "%.63s/%.300s", dir, name);
    return b;
}

/* The whole file in a malloc'ed buffer (one spare byte), or NULL. */
static unsigned char *read_all(const char *path, size_t *size)
{
    *size = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)n + 1);
    *size = fread(b, 1, (size_t)n, f);
    fclose(f);
    return b;
}

static void write_all(const char *path, const void *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(b, 1, n, f) == n, "write %s", path);
    if (f) fclose(f);
}

/* The folder, its files and its empty subfolders. */
static void tmpdir_remove(void)
{
    DIR *dp = opendir(dir);
    for (struct dirent *e; dp && (e = readdir(dp));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            if (unlink(at(e->d_name)) != 0) rmdir(at(e->d_name));
    if (dp) closedir(dp);
    rmdir(dir);
}

#endif
