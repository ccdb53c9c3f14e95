extern "Rust" int f(int);
