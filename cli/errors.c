/* errors.c - the command's error printers: a usage error exits 2 with a
 * hint at --help; a runtime error prints one line and returns 1 to the
 * command, which frees what it holds before exiting. */
#include "errors.h"

#include "backprop.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

_Noreturn void cli_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "backprop%s%s: ", cmd ? " " : "", cmd ? cmd : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see 'backprop %s%s--help')\n", cmd ? cmd : "", cmd ? " " : "");
    exit(EXIT_USAGE);
}

int cli_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "backprop %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return EXIT_RUNTIME;
}

int cli_fail(const char *cmd, const char *what)
{
    if (what) return cli_error(cmd, "%s: %s", what, bp_last_error());
    return cli_error(cmd, "%s", bp_last_error());
}
