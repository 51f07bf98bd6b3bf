/* errors.h - how the backprop command reports a failure: its exit codes and
 * the three printers every cli/ file uses. It depends on nothing else in
 * cli/, so the files that parse options, read data and encode tables call it
 * without calling each other. */
#ifndef BP_CLI_ERRORS_H
#define BP_CLI_ERRORS_H

#define EXIT_RUNTIME 1      /* file not found, bad data, numeric failure */
#define EXIT_USAGE 2        /* a bad command line */
#define EXIT_INTERRUPTED 130 /* SIGINT/SIGTERM: a checkpoint was saved */

/* Prints "backprop CMD: message" and a hint, exits EXIT_USAGE. */
_Noreturn void cli_usage(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Prints "backprop CMD: [what: ]<bp_last_error()>" and returns EXIT_RUNTIME. */
int cli_fail(const char *cmd, const char *what);
/* Prints "backprop CMD: message" and returns EXIT_RUNTIME. */
int cli_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#endif
