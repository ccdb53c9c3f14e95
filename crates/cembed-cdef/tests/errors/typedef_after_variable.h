int foo;
typedef int foo;
