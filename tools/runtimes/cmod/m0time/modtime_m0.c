// coapcast: a `time` module for MicroPython's qemu port on the nRF51 (BOARD=MICROBIT, Cortex-M0),
// which has none (MICROPY_PY_TIME is 0 there). Backed by the SoC's TIMER peripherals:
//   TIMER0: 16 MHz, 32 bits -> ticks_cpu(): the finest count the machine offers. Under
//           `qemu-system-arm -icount shift=0` the guest executes one instruction per virtual ns, so one
//           tick is 62.5 instructions: time an operation repeated N times and divide (tools/bench/m0.py).
//   TIMER1: 1 MHz, 32 bits -> ticks_us() (2**32 is a multiple of the ticks period), and ticks_ms()
//           counted on from it in software (correct while it is read at least once per 2**32 us, 71
//           minutes; 32-bit arithmetic only: libgcc's 64-bit division would need unwind tables the
//           port's linker script does not place).
// ticks_diff/ticks_add/sleep* follow MicroPython's time module (period MICROPY_PY_TIME_TICKS_PERIOD).
// Nothing here allocates: reading a counter returns a small int.
#include "py/runtime.h"
#include "py/smallint.h"

#define TIMER0_BASE (0x40008000u)
#define TIMER1_BASE (0x40009000u)
#define T_START     (0x000u)
#define T_CAPTURE0  (0x040u)
#define T_MODE      (0x504u)
#define T_BITMODE   (0x508u)
#define T_PRESCALER (0x510u)
#define T_CC0       (0x540u)
#define REG(b, o) (*(volatile uint32_t *)((b) + (o)))
#define PERIOD (MICROPY_PY_TIME_TICKS_PERIOD)

static uint8_t started;
static uint32_t us_last;  // TIMER1 at the last ticks_ms()
static uint32_t us_rem;   // us not yet counted into ms_total (< 1000)
static uint32_t ms_total;

static void timer_start(uint32_t base, uint32_t prescaler) {
    REG(base, T_MODE) = 0;          // timer (not counter)
    REG(base, T_BITMODE) = 3;       // 32 bits
    REG(base, T_PRESCALER) = prescaler;  // f = 16 MHz / 2**prescaler
    REG(base, T_START) = 1;
}

static uint32_t timer_read(uint32_t base) {
    if (!started) {
        started = 1;
        timer_start(TIMER0_BASE, 0);
        timer_start(TIMER1_BASE, 4);
    }
    REG(base, T_CAPTURE0) = 1;      // copy the counter into CC[0]
    return REG(base, T_CC0);
}


mp_uint_t mp_hal_ticks_cpu(void) {
    return timer_read(TIMER0_BASE);
}

mp_uint_t mp_hal_ticks_us(void) {
    return timer_read(TIMER1_BASE);
}

mp_uint_t mp_hal_ticks_ms(void) {
    uint32_t now = timer_read(TIMER1_BASE);
    uint32_t d = now - us_last;
    us_last = now;
    ms_total += d / 1000;
    us_rem += d % 1000;
    if (us_rem >= 1000) {
        us_rem -= 1000;
        ms_total += 1;
    }
    return ms_total;
}

void mp_hal_delay_us(mp_uint_t us) {
    uint32_t t0 = timer_read(TIMER1_BASE);
    while ((uint32_t)(timer_read(TIMER1_BASE) - t0) < us) {
        mp_handle_pending(true);
    }
}

void mp_hal_delay_ms(mp_uint_t ms) {
    mp_hal_delay_us(ms * 1000);
}

static mp_obj_t time_ticks_ms(void) {
    return MP_OBJ_NEW_SMALL_INT(mp_hal_ticks_ms() & (PERIOD - 1));
}
static MP_DEFINE_CONST_FUN_OBJ_0(time_ticks_ms_obj, time_ticks_ms);

static mp_obj_t time_ticks_us(void) {
    return MP_OBJ_NEW_SMALL_INT(mp_hal_ticks_us() & (PERIOD - 1));
}
static MP_DEFINE_CONST_FUN_OBJ_0(time_ticks_us_obj, time_ticks_us);

static mp_obj_t time_ticks_cpu(void) {
    return MP_OBJ_NEW_SMALL_INT(mp_hal_ticks_cpu() & (PERIOD - 1));
}
static MP_DEFINE_CONST_FUN_OBJ_0(time_ticks_cpu_obj, time_ticks_cpu);

static mp_obj_t time_ticks_diff(mp_obj_t end_in, mp_obj_t start_in) {
    mp_uint_t start = MP_OBJ_SMALL_INT_VALUE(start_in);
    mp_uint_t end = MP_OBJ_SMALL_INT_VALUE(end_in);
    mp_int_t diff = ((end - start + PERIOD / 2) & (PERIOD - 1)) - PERIOD / 2;
    return MP_OBJ_NEW_SMALL_INT(diff);
}
static MP_DEFINE_CONST_FUN_OBJ_2(time_ticks_diff_obj, time_ticks_diff);

static mp_obj_t time_ticks_add(mp_obj_t ticks_in, mp_obj_t delta_in) {
    mp_uint_t ticks = MP_OBJ_SMALL_INT_VALUE(ticks_in);
    mp_uint_t delta = mp_obj_get_int(delta_in);
    if (delta + PERIOD / 2 - 1 >= PERIOD - 1) {
        mp_raise_msg(&mp_type_OverflowError, MP_ERROR_TEXT("ticks interval overflow"));
    }
    return MP_OBJ_NEW_SMALL_INT((ticks + delta) & (PERIOD - 1));
}
static MP_DEFINE_CONST_FUN_OBJ_2(time_ticks_add_obj, time_ticks_add);

static mp_obj_t time_sleep_ms(mp_obj_t arg) {
    mp_int_t ms = mp_obj_get_int(arg);
    if (ms > 0) {
        mp_hal_delay_ms(ms);
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(time_sleep_ms_obj, time_sleep_ms);

static mp_obj_t time_sleep_us(mp_obj_t arg) {
    mp_int_t us = mp_obj_get_int(arg);
    if (us > 0) {
        mp_hal_delay_us(us);
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(time_sleep_us_obj, time_sleep_us);

static mp_obj_t time_sleep(mp_obj_t arg) {
    #if MICROPY_PY_BUILTINS_FLOAT
    mp_float_t s = mp_obj_get_float(arg);
    if (s > 0) {
        mp_hal_delay_us((mp_uint_t)(s * 1000000));
    }
    #else
    mp_int_t s = mp_obj_get_int(arg);
    if (s > 0) {
        mp_hal_delay_ms(s * 1000);
    }
    #endif
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(time_sleep_obj, time_sleep);

static const mp_rom_map_elem_t time_module_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR_time) },
    { MP_ROM_QSTR(MP_QSTR_ticks_ms), MP_ROM_PTR(&time_ticks_ms_obj) },
    { MP_ROM_QSTR(MP_QSTR_ticks_us), MP_ROM_PTR(&time_ticks_us_obj) },
    { MP_ROM_QSTR(MP_QSTR_ticks_cpu), MP_ROM_PTR(&time_ticks_cpu_obj) },
    { MP_ROM_QSTR(MP_QSTR_ticks_diff), MP_ROM_PTR(&time_ticks_diff_obj) },
    { MP_ROM_QSTR(MP_QSTR_ticks_add), MP_ROM_PTR(&time_ticks_add_obj) },
    { MP_ROM_QSTR(MP_QSTR_sleep), MP_ROM_PTR(&time_sleep_obj) },
    { MP_ROM_QSTR(MP_QSTR_sleep_ms), MP_ROM_PTR(&time_sleep_ms_obj) },
    { MP_ROM_QSTR(MP_QSTR_sleep_us), MP_ROM_PTR(&time_sleep_us_obj) },
};
static MP_DEFINE_CONST_DICT(time_module_globals, time_module_globals_table);

const mp_obj_module_t mp_module_time_m0 = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&time_module_globals,
};

MP_REGISTER_MODULE(MP_QSTR_time, mp_module_time_m0);
