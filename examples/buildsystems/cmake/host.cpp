// The C host, compiled as C++ (the header has extern "C" and C++ spellings).
#include "../common/host.c"
