/* Every primitive class as argument and result of exported functions. */
typedef int... opaque_int_t;
typedef float... opaque_float_t;

void nothing(void);
char c(char);
signed char sc(signed char);
unsigned char uc(unsigned char);
short s(short);
unsigned short us(unsigned short);
int i(int, int);
unsigned int ui(unsigned int);
long l(long);
unsigned long ul(unsigned long);
long long ll(long long);
unsigned long long ull(unsigned long long);
_Bool b(_Bool);
wchar_t wc(wchar_t);
char16_t c16(char16_t);
char32_t c32(char32_t);
float f(float);
double d(double, float);
long double ld(long double);
int8_t i8(int8_t);
uint8_t u8(uint8_t);
int16_t i16(int16_t);
uint16_t u16(uint16_t);
int32_t i32(int32_t);
uint32_t u32(uint32_t);
int64_t i64(int64_t);
uint64_t u64(uint64_t);
intptr_t ip(uintptr_t);
size_t sz(ssize_t);
ptrdiff_t pd(ptrdiff_t);
opaque_int_t oi(opaque_int_t);
opaque_float_t of(opaque_float_t);
/* cembed: cdef */
long double through_thunk(long double, float, unsigned char, _Bool, wchar_t, int64_t, opaque_int_t);
