struct inner { int a; };
struct outer { struct inner; int b; };
