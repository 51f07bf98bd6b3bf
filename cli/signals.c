/* signals.c - Ctrl-C during training: the first SIGINT or SIGTERM asks the
 * trainer to stop after its current batch (the command then saves a
 * checkpoint); SA_RESETHAND lets a second one end the process at once. */
#include "report.h"

#include <signal.h>
#include <string.h>

static volatile sig_atomic_t caught;
static bp_trainer *volatile trainer;

static void on_signal(int sig)
{
    caught = sig;
    if (trainer) bp_trainer_request_stop(trainer); /* documented as signal-safe */
}

static void set_handler(int sig, void (*fn)(int), int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
}

void signals_install(bp_trainer *t)
{
    caught = 0;
    trainer = t;
    set_handler(SIGINT, on_signal, SA_RESETHAND);
    set_handler(SIGTERM, on_signal, SA_RESETHAND);
}

void signals_restore(void)
{
    set_handler(SIGINT, SIG_DFL, 0);
    set_handler(SIGTERM, SIG_DFL, 0);
    trainer = NULL;
}

int signals_caught(void) { return caught; }
