/* Every primitive CFFI knows, and C's multi-word spellings normalised to
   CFFI's names. */
char c; signed char sc; unsigned char uc; char signed sc2; char unsigned uc2;
short s; short int si; signed short ss; short signed int ssi;
unsigned short us; short unsigned int sui; unsigned short int usi;
int i; signed sg; signed int sgi;
unsigned u; unsigned int ui;
long l; long int li; signed long sl; long signed int lsi; int long il;
unsigned long ul; long unsigned lu; unsigned long int uli;
long long ll; long long int lli; signed long long sll; long int long lil;
unsigned long long ull; long long unsigned int llui; unsigned long long int ulli;
float f; double d; long double ld;
_Bool b; bool b2;
wchar_t wc; char16_t c16; char32_t c32;
int8_t i8; uint8_t u8; int16_t i16; uint16_t u16;
int32_t i32; uint32_t u32; int64_t i64; uint64_t u64;
int_least8_t il8; uint_least8_t ul8; int_least16_t il16; uint_least16_t ul16;
int_least32_t il32; uint_least32_t ul32; int_least64_t il64; uint_least64_t ul64;
int_fast8_t if8; uint_fast8_t uf8; int_fast16_t if16; uint_fast16_t uf16;
int_fast32_t if32; uint_fast32_t uf32; int_fast64_t if64; uint_fast64_t uf64;
intptr_t ip; uintptr_t uip; intmax_t im; uintmax_t uim;
ptrdiff_t pd; size_t sz; ssize_t ssz;
void *vp;
void f_void(void);
_Atomic int atomic_ignored;
