#define HUGE 0x1ffffffffffffffff
