#define NAME "hello"
