int ok;
foo_t x;
