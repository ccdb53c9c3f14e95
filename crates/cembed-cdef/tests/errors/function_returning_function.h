typedef int fn(int);
fn make(void)(int);
