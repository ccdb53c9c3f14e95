// FILE is known to CFFI without a declaration; stray semicolons are fine.
FILE *open_log(const char *path);
void write_log(FILE *f, const char *line);
;;
int after_semicolons;
