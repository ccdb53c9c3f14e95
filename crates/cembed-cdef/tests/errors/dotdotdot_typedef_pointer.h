typedef int... *p_t;
