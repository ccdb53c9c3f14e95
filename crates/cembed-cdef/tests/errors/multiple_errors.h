void a;
int b[-1];
struct s { int x; int x; };
int ok;
