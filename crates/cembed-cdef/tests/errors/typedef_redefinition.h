typedef int handle;
typedef long handle;
