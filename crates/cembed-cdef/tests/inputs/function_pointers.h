// Function pointers, nested declarators and function types through typedefs.
int (*cb)(int);
void (*cb0)(void);
int (*cbs[3])(int, int);
int (**cbp)(const char *);
int (*(*fpr)(int))(long);
void (*signal_like(int sig, void (*handler)(int)))(int);
int *(*(*deep)(int))[3];
typedef int binop_t(int, int);
typedef binop_t *binop_ptr;
binop_t add;
binop_ptr ops[4];
typedef void (*callback_t)(void *userdata, int status);
void register_callback(callback_t cb, void *userdata);
void takes_fn(int f(int), int g(void));
extern int (*extern_cb)(int);
int (*const const_cb)(int);
