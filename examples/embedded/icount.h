/* icount.h - instructions counted on an emulated Cortex-M, shared by bench.c
 * and train_bench.c: qemu -icount shift=0 runs one instruction per virtual
 * nanosecond and SysTick counts virtual time, so a loop of known length
 * (spin) gives instructions per tick without assuming a clock rate. */
#ifndef ICOUNT_H
#define ICOUNT_H

#include <stdint.h>

#define SYST_CSR (*(volatile uint32_t *)0xE000E010) /* SysTick control */
#define SYST_RVR (*(volatile uint32_t *)0xE000E014) /* reload */
#define SYST_CVR (*(volatile uint32_t *)0xE000E018) /* current (counts down) */

static inline uint32_t start(void)
{
    SYST_RVR = 0xFFFFFF, SYST_CVR = 0, SYST_CSR = 5; /* processor clock, enabled */
    return SYST_CVR;
}

static inline uint32_t ticks_since(uint32_t t0) { return (t0 - SYST_CVR) & 0xFFFFFF; }

/* 2 instructions per iteration: subs, bne. */
static inline void spin(uint32_t n) { __asm__ volatile("1: subs %0, %0, #1\n bne 1b" : "+r"(n) : : "cc"); }

/* Instructions per SysTick tick, from 100,000 turns of spin. */
static inline double instructions_per_tick(void)
{
    uint32_t t = start();
    spin(100000);
    return 200000.0 / ticks_since(t);
}

#endif
