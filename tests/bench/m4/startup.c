/*
 * startup.c: vector table, reset handler and ARM semihosting for the
 * bare-metal benchmark image (tests/bench/m4/bench_m4.c) run on qemu.
 */
#include <stdint.h>
#include <string.h>

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _stack_top;
int main(void);
void reset_handler(void);
static void fault_handler(void);

__attribute__((section(".vectors"), used))
static void (*const vectors[16])(void) = {
    (void (*)(void))&_stack_top, reset_handler, fault_handler, fault_handler,
    fault_handler, fault_handler, fault_handler, 0, 0, 0, 0,
    fault_handler, fault_handler, 0, fault_handler, fault_handler,
};

/* Semihosting call: operation in r0, parameter in r1, result in r0. */
static int semihost(int op, const void *arg)
{
    register int r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void sh_puts(const char *s) { semihost(0x04, s); }              /* SYS_WRITE0 */

void sh_exit(int code)
{
    uint32_t block[2] = { 0x20026, (uint32_t)code };           /* ApplicationExit */
    semihost(0x20, block);                                     /* SYS_EXIT_EXTENDED */
    semihost(0x18, (const void *)0x20026);                     /* SYS_EXIT fallback */
    for (;;) {}
}

static void fault_handler(void)
{
    sh_puts("bench_m4: fault\n");
    sh_exit(3);
}

void reset_handler(void)
{
    uint32_t *s = &_sidata, *d = &_sdata;
    while (d < &_edata) *d++ = *s++;
    for (d = &_sbss; d < &_ebss; d++) *d = 0;
    /* Enable the FPU's coprocessor access in case the toolchain uses it. */
    *(volatile uint32_t *)0xE000ED88 |= 0xF << 20;
    sh_exit(main());
}
